"""One SWE-bench instance as a typed record, and the name of its Docker image."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from comem.core.config import StrictModel


def _json_list(value: Any) -> Any:
    """SWE-bench's files store the test lists as JSON-encoded strings; in memory they are lists."""
    return json.loads(value) if isinstance(value, str) else value


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


TestIds = Annotated[list[str], BeforeValidator(_json_list)]


class ImageNaming(StrictModel):
    """How the official harness names instance images; `namespace=None` names images built locally."""

    model_config = ConfigDict(frozen=True)

    namespace: str | None = "swebench"  # a Docker Hub user or `registry.host/path`
    tag: str = "latest"
    arch: Literal["x86_64", "arm64"] = "x86_64"


def instance_image(instance_id: str, naming: ImageNaming | None = None) -> str:
    """`swebench/sweb.eval.x86_64.<id>:latest`, lower-cased; with a namespace, `__` is written `_1776_`
    (Docker Hub forbids `__`), as in swebench's ImageSpec.name."""
    naming = naming or ImageNaming()
    key = f"sweb.eval.{naming.arch}.{instance_id}:{naming.tag}"
    if naming.namespace is not None:
        key = f"{naming.namespace}/{key}".replace("__", "_1776_")
    return key.lower()


class SWEBenchTask(BaseModel):
    """One SWE-bench instance. Other columns (eval_script, log_parser, ...) are kept for the official harness."""

    model_config = ConfigDict(extra="allow")

    instance_id: str = Field(min_length=1)
    repo: str
    base_commit: str
    problem_statement: str
    version: Annotated[str, BeforeValidator(_text)] = ""
    environment_setup_commit: str = ""
    patch: str = ""  # the gold fix; never shown to the agent
    test_patch: str = ""
    hints_text: str = ""
    FAIL_TO_PASS: TestIds = Field(default_factory=list)
    PASS_TO_PASS: TestIds = Field(default_factory=list)
    image: str = Field(default="", validation_alias=AliasChoices("image", "docker_image"))

    def row(self) -> dict[str, Any]:
        """The instance as a row for the official harness (extra columns included)."""
        return self.model_dump(mode="json")
