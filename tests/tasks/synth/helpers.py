"""A tiny real package (src layout, pytest and unittest tests) for the synthesis tests, and how grading applies a
patch to it."""

from __future__ import annotations

import subprocess
from pathlib import Path

PYPROJECT = '[project]\nname = "calc"\nversion = "1.0"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n' \
            'addopts = "--definitely-not-an-option"\n'  # synthesis turns the package's addopts off

CALC = '''\
"""A tiny library for the synthesis tests."""


def clamp(x, lo=0, hi=10):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def mean(values):
    return sum(values) / len(values)


def initials(name):
    return "".join(part[0].upper() for part in name.split())
'''

TEST_CLAMP = '''\
from calc import clamp


def test_inside():
    assert clamp(5) == 5


def test_below():
    assert clamp(-3) == 0


def test_above():
    assert clamp(42) == 10


def test_custom_bounds():
    assert clamp(7, lo=1, hi=6) == 6
'''

TEST_TEXT = '''\
import unittest

import calc


class TestMean(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(calc.mean([1, 2, 3, 6]), 3)


def test_initials():
    assert calc.initials("ada lovelace") == "AL"
'''


def git_apply(patch: str, repo: Path) -> None:
    """Apply a patch the way grading does: `git apply` in a plain directory."""
    subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=repo, check=True,
                   env={"GIT_CEILING_DIRECTORIES": str(repo.parent), "PATH": "/usr/bin:/bin"})


def make_package(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def calc_files() -> dict[str, str]:
    return {"pyproject.toml": PYPROJECT, "src/calc/__init__.py": CALC, "tests/test_clamp.py": TEST_CLAMP,
            "tests/test_text.py": TEST_TEXT}
