"""The strict base of every configuration: an unknown key is an error naming it (with its path) and the nearest
valid key; bounds read as one line; help texts can read a field's default."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from comem.core.config import StrictModel, default_of, first_error


class Inner(StrictModel):
    max_steps: int = Field(default=20, ge=1)
    timeout_s: float = Field(default=1.0, gt=0)


class Outer(StrictModel):
    name: str = "x"
    inner: Inner = Field(default_factory=Inner)
    tags: list[str] = Field(default_factory=lambda: ["a", "b"])


def error(data: dict) -> str:
    with pytest.raises(ValidationError) as err:
        Outer.model_validate(data)
    return first_error(err.value)


def test_an_unknown_key_names_its_path_and_the_nearest_valid_key() -> None:
    assert error({"nmae": "y"}) == "nmae: unknown key (did you mean 'name'?)"
    assert error({"inner": {"max_step": 3}}) == "inner.max_step: unknown key (did you mean 'max_steps'?)"
    assert error({"inner": {"zzz": 3}}) == "inner.zzz: unknown key (valid keys: max_steps, timeout_s)"


def test_bounds_read_as_one_line() -> None:
    assert error({"inner": {"max_steps": 0}}) == "inner.max_steps must be >= 1, got 0"
    assert error({"inner": {"timeout_s": -1}}) == "inner.timeout_s must be > 0, got -1"


def test_defaults_for_help_texts() -> None:
    assert default_of(Inner, "max_steps") == 20 and default_of(Outer, "tags") == ["a", "b"]
    assert isinstance(default_of(Outer, "inner"), Inner)
