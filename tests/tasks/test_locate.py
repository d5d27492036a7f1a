"""Localisation: the code of the names an issue quotes, from real files, into the task prompt."""

from __future__ import annotations

from pathlib import Path

from comem.environment.workspace import Workspace
from comem.tasks.locate import MAX_LINES, Shown, issue_names, locate
from comem.tasks.prompts import pinned_prompts, repo_files, repo_prompts
from comem.tasks.sources import BUNDLED, load_source


def text(shown: list[Shown]) -> str:
    return "\n\n".join(s.render() for s in shown)


def write(root: Path, files: dict[str, str]) -> list[str]:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return repo_files(root)


def test_issue_names_are_the_last_components_of_quoted_names_in_order() -> None:
    text = "`pkg.mod.first()` breaks `Second.method` and `first`; ```code``` and `ab` are not names"
    assert issue_names(text) == ["first", "method"]


def test_the_definition_is_shown_numbered_and_the_tests_copy_is_not(tmp_path: Path) -> None:
    files = write(tmp_path, {
        "pkg/mod.py": "import os\n\n\ndef target(x):\n    y = x + 1\n\n    return y\n\n\ndef other():\n    pass\n",
        "tests/test_mod.py": "def target():\n    pass\n",
    })
    shown = text(locate("`pkg.target` returns 2 for 2", tmp_path, files))
    assert shown == ("pkg/mod.py, lines 4-7:\n     4\tdef target(x):\n     5\t    y = x + 1\n     6\t\n"
                     "     7\t    return y")


def test_a_method_with_a_decorator_and_a_wrapped_signature_ends_with_its_body(tmp_path: Path) -> None:
    files = write(tmp_path, {"lib.py": (
        "class Box:\n    @property\n    def size(\n        self,\n    ) -> int:\n        return 1\n\n"
        "    def other(self):\n        return 2\n")})
    shown = text(locate("`Box.size` is wrong", tmp_path, files))
    assert shown.startswith("lib.py, lines 3-6:") and "return 1" in shown and "other" not in shown


def test_ambiguous_and_unknown_names_show_nothing(tmp_path: Path) -> None:
    files = write(tmp_path, {f"m{i}.py": "def run():\n    pass\n" for i in range(3)})
    assert locate("`run` fails and `missing` too", tmp_path, files) == []


def test_the_shown_code_is_bounded(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(55))
    files = write(tmp_path, {f"m{i}.py": f"def func{i}():\n{body}" for i in range(5)})
    shown = text(locate(" ".join(f"`func{i}`" for i in range(5)), tmp_path, files))
    assert 0 < sum(line[:6].strip().isdigit() for line in shown.splitlines()) <= MAX_LINES


def test_a_bundled_tasks_prompt_shows_the_code_it_is_about() -> None:
    task = next(t for t in load_source(BUNDLED) if t.instance_id == "semver-bump-minor")
    workspace = Workspace.create(task.repo_dir, bash_timeout_s=5)
    try:
        prompt = pinned_prompts(task, workspace.tool_specs, workspace.root).task
    finally:
        workspace.close()
    assert "Where the names in the issue are defined" in prompt and "semverlite/version.py, lines" in prompt
    assert "def bump_minor" in prompt.split("Where the names")[1]


def test_the_view_example_opens_the_definition_found(tmp_path: Path) -> None:
    """It used to open the first source file outside `__init__.py` (`docs/conf.py` for a package that lives in
    its `__init__.py`), and the 0.5B agent edited that file."""
    files = write(tmp_path, {"docs/conf.py": "x = 1\n", "pkg/__init__.py": "def target(x):\n    return x\n"})
    specs = [{"function": {"name": n, "description": n, "parameters": {"type": "object", "properties": {}}}}
             for n in ("file_editor", "search", "submit")]
    system = repo_prompts("`pkg.target` is wrong", specs, files, located=locate("`pkg.target`", tmp_path, files)).system
    assert '"path": "pkg/__init__.py", "view_range": [1, 2]' in system and "docs/conf.py" not in system
