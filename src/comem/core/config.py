"""Helpers every typed configuration shares: a strict base model (unknown keys are errors that name the nearest
valid key), YAML + overrides merged, validation errors in one line, and field defaults for help texts."""

from __future__ import annotations

import difflib
import ipaddress
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError, PydanticUndefined

from comem.core.errors import ComemError

M = TypeVar("M", bound=BaseModel)


def known_keys(model: type[BaseModel]) -> list[str]:
    """The keys a mapping may hold for `model`: field names and their string aliases."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(name)
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                keys.append(alias)
            elif alias is not None and hasattr(alias, "choices"):
                keys += [c for c in alias.choices if isinstance(c, str)]
    return list(dict.fromkeys(keys))


def nearest_hint(key: str, valid: list[str]) -> str:
    """`did you mean 'max_steps'?` (difflib's nearest valid key), or the valid keys when none is near."""
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return f"did you mean {near[0]!r}?" if near else f"valid keys: {', '.join(valid)}"


class StrictModel(BaseModel):
    """Base of every configuration a user writes (YAML, `--set`, flags): a key the model does not have is an error
    naming it and the nearest valid key, so a typo never silently leaves a default in place."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            valid = known_keys(cls)
            unknown = [k for k in data if isinstance(k, str) and k not in valid]
            if unknown:
                key = unknown[0]
                raise PydanticCustomError("unknown_key", "unknown key {key} ({hint})",
                                          {"key": repr(key), "name": key, "hint": nearest_hint(key, valid)})
        return data


def default_of(model: type[BaseModel], field: str) -> Any:
    """The default of `model.field` (calling a default factory), for help texts that must not drift."""
    info = model.model_fields[field]
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    raise KeyError(f"{model.__name__}.{field} has no default")


def is_loopback(host: str) -> bool:
    """A bind address only this machine can reach (servers elsewhere require an API key)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from `path` (empty file: {}), or a ComemError saying what is wrong with it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ComemError(f"Cannot read config {path}: {exc}.", fix="pass a readable YAML file.") from exc
    if not isinstance(data, dict):
        raise ComemError(f"Config {path} is not a mapping.", fix="write `key: value` pairs at the top level.")
    return data


def load_yaml_config(path: Path | None, overrides: dict[str, Any], model: type[M], *, command: str) -> M:
    """YAML file (optional) + overrides (dotted keys already nested) -> a validated `model`, or one ComemError
    naming the first problem and the command whose help lists the keys."""
    merged = deep_merge(read_yaml(path) if path is not None else {}, overrides)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise ComemError(f"Invalid {command} configuration{f' in {path}' if path else ''}: {first_error(exc)}.",
                         fix=f"see `{command} --help` and the example in the README.") from None


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, recursing into nested mappings (YAML config + CLI overrides)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


_BOUNDS = {"greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">"), "less_than_equal": ("le", "<="),
           "less_than": ("lt", "<")}


def first_error(exc: ValidationError) -> str:
    """The first validation error in one line: `where: what` (`limit must be >= 1, got 0`)."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, sign = _BOUNDS[kind]
        bound = format(ctx[key], "g") if isinstance(ctx[key], float) else ctx[key]
        what = f"must be {sign} {bound}, got {err.get('input')!r}"
        return f"{where} {what}" if where else what
    if kind == "unknown_key":  # the key's full path, then what it may have meant: `loop.max_step: unknown key (...)`
        path = f"{where}.{ctx['name']}" if where else ctx["name"]
        return f"{path}: unknown key ({ctx['hint']})"
    if kind == "extra_forbidden":
        return f"{where}: unknown key"
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg
