"""The two pinned prompts of a repository task: the system prompt (tools, example calls) and the task prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from comem.context.base import Pinned
from comem.context.memory import fill, load_prompt
from comem.environment.tools import usage
from comem.tasks.locate import Shown, issue_names, locate
from comem.tasks.task import Task


def describe_tools(specs: list[dict[str, Any]]) -> str:
    return "\n".join(f"- {usage(specs, s['function']['name'])}: {s['function']['description']}" for s in specs)


def repo_files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(root).parts)
    )


def format_files(files: list[str], limit: int = 200) -> str:
    """The repository's files, so a small model need not guess paths."""
    more = f"\n... and {len(files) - limit} more" if len(files) > limit else ""
    return "\n".join(files[:limit]) + more


def example_calls(problem_statement: str, files: list[str], *, bash_only: bool = False,
                  located: list[Shown] | None = None) -> str:
    """Examples made of this task's real names: small models copy examples, so copying should help. The view
    example opens the first definition found for the issue (`located`), else a source file the issue names."""
    sources = [f for f in files if f.endswith(".py") and "test" not in f and not f.endswith("__init__.py")]
    mentioned = [f for f in sources if Path(f).stem in problem_statement]
    names = issue_names(problem_statement)
    lines = []
    if names:
        search = {"name": "bash", "arguments": {"command": f"grep -rn '{names[0]}' --include=*.py ."}} if bash_only \
            else {"name": "search", "arguments": {"search_term": names[0]}}
        lines.append(json.dumps(search))
    if located:
        d = located[0].definition
        view = {"name": "bash", "arguments": {"command": f"cat -n {d.path} | sed -n '{d.first},{d.last}p'"}} \
            if bash_only else {"name": "file_editor", "arguments": {"command": "view", "path": d.path,
                                                                    "view_range": [d.first, d.last]}}
        lines.append(json.dumps(view))
    elif sources:
        path = (mentioned or sources)[0]
        view = {"name": "bash", "arguments": {"command": f"cat -n {path} | sed -n '1,60p'"}} if bash_only \
            else {"name": "file_editor", "arguments": {"command": "view", "path": path}}
        lines.append(json.dumps(view))
    return "\n".join(lines)


def pinned_prompts(task: Task, tool_specs: list[dict[str, Any]], root: Path) -> Pinned:
    files = repo_files(root)
    return repo_prompts(task.problem_statement, tool_specs, files, test_command=task.test_command,
                        located=locate(task.problem_statement, root, files))


def repo_prompts(problem_statement: str, tool_specs: list[dict[str, Any]], files: list[str], *,
                 test_command: str | None = None, located: list[Shown] | None = None) -> Pinned:
    """The repository-task prompts from the file list, wherever the repository lives (local dir, container).

    `test_command` is how the task's own tests run (a src-layout package needs e.g. `-o pythonpath=src`): the
    agent is told, so its test runs import the package the way grading does. `located`: the code of the names
    the issue mentions (`comem.tasks.locate`), where the repository's files can be read here."""
    bash_only = not any(spec["function"]["name"] == "file_editor" for spec in tool_specs)
    examples = example_calls(problem_statement, files, bash_only=bash_only, located=located)
    system = fill(load_prompt("agent_system_bash.txt" if bash_only else "agent_system.txt"),
                  tools=describe_tools(tool_specs), examples=examples)
    tests = f"\n\nRun the repository's tests with: `{test_command.strip()}`" if test_command else ""
    code = "\n\n".join(shown.render() for shown in located or [])
    where = f"\n\nWhere the names in the issue are defined (the bug may be here or in code they call):\n{code}" \
        if code else ""
    user = fill(load_prompt("agent_task.txt"), problem_statement=problem_statement.strip(),
                files=format_files(files), tests=tests, located=where)
    return Pinned(system=system, task=user)
