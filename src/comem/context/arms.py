"""Arms: which context strategy an episode (or a replayed or simulated agent) runs, and with which options.

An arm is the strategy's own config class (`FullConfig`, `MaskConfig`, `SyncConfig`, `KsoConfig`, and whatever
else registers), chosen by `name`: `ArmConfig` is the union of every registered config class, discriminated on
`name`, so a strategy's knobs are declared once, in its own file. Every way of writing an arm parses into it:

- a mapping (YAML): `{name: kso, k: 2, late_policy: deadline, label: kso-k2-deadline}`; the
  `{name, label, options: {...}}` form of earlier run directories is read too;
- a string in the arm grammar, `NAME[-nocache][-kN][-wait|-deadline|-stale][-calls]`: `full`, `mask`, `sync-k2`,
  `kso-k4`, `kso-k2-deadline`, `kso-calls`, `full-nocache`. `-kN` sets the field `k`, the policy suffix
  `late_policy` and `-calls` `keep_calls: true`; a string that says more than the name becomes the arm's label.
  `-nocache` (every request misses the engine's prefix cache) is a benchmark control that only `comem bench
  replay` and `comem bench simulate` accept (`parse_arm_spec`);
- options by field name (`--k 4`, `--keep-last 2`, the replay's `--memory-max-tokens`): each goes to the arms
  whose strategy has that field (`with_options`). A grammar suffix is more specific and wins.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Annotated, Any, NamedTuple, Union

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

from comem.context.base import StrategyConfig, config_classes, lookup, strategy_names
from comem.core.config import first_error
from comem.core.errors import ComemError

GRAMMAR = "NAME[-nocache][-kN][-wait|-deadline|-stale][-calls]"
EXAMPLES = "full, mask, sync-k2, kso-k4, kso-k2-deadline, kso-calls"
_SPEC = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)(?P<nocache>-nocache)?(?:-k(?P<k>\d+))?"
                   r"(?:-(?P<policy>wait|deadline|stale))?(?P<calls>-calls)?$")


class ArmSpec(NamedTuple):
    """A parsed arm string: the strategy config, and whether requests may reuse the engine's prefix cache."""

    config: StrategyConfig
    reuse_cache: bool = True


def _bad_options(arm: str, name: str, exc: ValidationError) -> ComemError:
    return ComemError(f"Bad options for arm {arm!r}: {first_error(exc)}.",
                      fix=f"check the {name} options in your config or flags.")


def _applicable(config_cls: type[StrategyConfig], options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options (not None) that name a field of the strategy; `name` and `label` are the arm's own."""
    fields = config_cls.model_fields
    return {k: v for k, v in (options or {}).items() if k in fields and k not in ("name", "label") and v is not None}


def with_options(config: StrategyConfig, options: Mapping[str, Any] | None) -> StrategyConfig:
    """`config` with each option (not None) whose name is a field of its strategy; the others do not apply."""
    update = _applicable(type(config), options)
    if not update:
        return config
    try:
        return type(config).model_validate({**config.model_dump(exclude_unset=True), **update, "name": config.name})
    except ValidationError as exc:
        raise _bad_options(config.key, config.name, exc) from None


def with_defaults(config: StrategyConfig, defaults: Mapping[str, Any]) -> StrategyConfig:
    """`config` with each of `defaults` that its strategy has and it does not set itself."""
    fields, chosen = type(config).model_fields, config.model_fields_set
    return with_options(config, {k: v for k, v in defaults.items() if k in fields and k not in chosen})


def parse_arm_spec(text: str, options: Mapping[str, Any] | None = None) -> ArmSpec:
    """An arm string in the grammar (see the module docstring); `options` apply where the strategy has them."""
    spec = text.strip()
    match = _SPEC.match(spec)
    if match is None:
        if spec.split("-")[0] not in strategy_names():
            lookup(spec)  # not a strategy with suffixes: say which strategies there are
        raise ComemError(f"Cannot read the arm {spec!r}.", fix=f"write arms like {EXAMPLES} (the grammar: {GRAMMAR}).")
    name = match["name"]
    config_cls = lookup(name)[1]  # an unknown strategy fails here, naming the known ones
    fields = config_cls.model_fields
    data = _applicable(config_cls, options)
    if match["k"] is not None:
        if "k" not in fields:
            raise ComemError(f"Arm {spec!r}: {name} has no memory period k.", fix=f"drop the -k suffix: {name}.")
        data["k"] = int(match["k"])
    if match["policy"] is not None:
        if "late_policy" not in fields:
            raise ComemError(f"Arm {spec!r}: {name} has no late policy.", fix=f"drop the -{match['policy']} suffix.")
        data["late_policy"] = match["policy"]
    if match["calls"] is not None:
        if "keep_calls" not in fields:
            raise ComemError(f"Arm {spec!r}: {name} has no memory whose calls it could keep.",
                             fix="use -calls with sync or kso.")
        data["keep_calls"] = True
    try:
        config = config_cls.model_validate({**data, "name": name, "label": spec if spec != name else None})
    except ValidationError as exc:
        raise _bad_options(spec, name, exc) from None
    return ArmSpec(config, reuse_cache=match["nocache"] is None)


def parse_arm(text: str, options: Mapping[str, Any] | None = None) -> StrategyConfig:
    """An arm string for a live run (`--arms`, a string in YAML): the grammar without `-nocache`."""
    spec = parse_arm_spec(text, options)
    if not spec.reuse_cache:
        raise ComemError(f"Arm {text.strip()!r}: -nocache is a benchmark control.",
                         fix="use it with `comem bench replay` or `comem bench simulate`; drop it here.")
    return spec.config


def _arm_input(value: Any) -> Any:
    """Strings go through the grammar; the legacy `options:` mapping is flattened; unknown names are named."""
    if isinstance(value, str):
        return parse_arm(value)
    if isinstance(value, Mapping):
        name = value.get("name")
        if isinstance(name, str) and name not in strategy_names():
            near = difflib.get_close_matches(name, strategy_names(), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ValueError(f"unknown strategy {name!r} ({hint}strategies: {', '.join(strategy_names())})")
        options = value.get("options")
        if isinstance(options, Mapping) and isinstance(name, str) and "options" not in lookup(name)[1].model_fields:
            rest = {k: v for k, v in value.items() if k != "options"}
            return {**options, **rest}
    return value


def _arm_type() -> Any:
    classes = config_classes()
    member = classes[0] if len(classes) == 1 else Annotated[Union[tuple(classes)], Field(discriminator="name")]  # noqa: UP007
    return Annotated[member, BeforeValidator(_arm_input)]


# The arm type for pydantic fields (`arms: list[ArmConfig]`); annotate plain values with `StrategyConfig`. It is
# built from the strategies registered when `comem.context` is imported (context/__init__.py imports them all).
ArmConfig: Any = _arm_type()
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ArmConfig)


def validate_arm(data: Any) -> StrategyConfig:
    """One arm from a mapping, a grammar string or a config (a ComemError names what is wrong)."""
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ComemError(f"Invalid arm {data!r}: {first_error(exc)}.",
                         fix="see the strategy's options (`comem run --help`).") from None
