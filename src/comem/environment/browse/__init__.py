"""BrowseComp-style research tools: search (Serper or a local BM25 index), page fetching, answer submission."""

from __future__ import annotations

import importlib
from types import ModuleType

from comem.core.errors import ComemError

EVAL_EXTRA_FIX = "pip install 'comem[eval]' (or pip install -e '.[eval]')."


def eval_module(name: str) -> ModuleType:
    """Import a dependency of the `eval` extra (bm25s, bs4); a missing one is one clear error."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ComemError(f"Browsing needs the Python package {name!r}, which is not installed.",
                         fix=EVAL_EXTRA_FIX) from error
