"""How often can a model write the fix when it is handed the broken function? An upper bound on what an agent
built on it can solve: `python benchmarks/repair_ceiling.py MODEL TASKS_DIR [--threads N] [--out DIR]`.

No agent loop: for each task the model gets the issue and the function the gold patch changes (the localisation
an agent would have to find), asks once at temperature 0 for the corrected function, and the reply's first
```python block replaces that function in a copy of the repository, graded with the task's hidden tests as in a
run. Tasks whose gold patch changes code outside a function are counted apart. The replies are kept in `--out`.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import re
import shutil
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from comem.core.records import Message
from comem.llm.base import LLM
from comem.llm.endpoint import ModelConfig
from comem.llm.open import open_model
from comem.tasks.grading import grade, patch_paths
from comem.tasks.task import Task, load_tasks

PROMPT = """Fix this issue in a Python repository.

Issue:
{issue}

The bug is in this function from `{path}`:
```python
{code}
```

Reply with the corrected function only, complete, in one ```python block."""
CODE_BLOCK = re.compile(r"```(?:python)?\n(.*?)```", re.S)


@dataclass(frozen=True)
class Target:
    """The function the gold patch changes: its file and lines (1-based, inclusive, decorators included)."""

    path: str
    first: int
    last: int


@dataclass(frozen=True)
class Attempt:
    task: str
    outcome: str  # resolved | wrong | no code block | not in a function
    reply_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def first_changed_line(patch: str) -> tuple[str, int]:
    """The first file the gold patch changes and the number (in the old file) of its first changed line."""
    path, lines = patch_paths(patch)[0], patch.split("\n")
    hunk = next(i for i, line in enumerate(lines) if line.startswith("@@"))
    number = int(re.match(r"@@ -(\d+)", lines[hunk]).group(1))
    for line in lines[hunk + 1:]:
        if line.startswith(("-", "+")):
            break
        number += 1
    return path, number


def target(task: Task) -> Target | None:
    path, line = first_changed_line(task.patch)
    tree = ast.parse((task.repo_dir / path).read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.lineno <= line <= (n.end_lineno or n.lineno)]
    if not functions:
        return None
    inner = max(functions, key=lambda n: n.lineno)
    return Target(path, min([inner.lineno] + [d.lineno for d in inner.decorator_list]), inner.end_lineno or 0)


def replaced(text: str, where: Target, reply: str) -> str | None:
    """The file with the function replaced by the reply's code, re-indented to the old function's depth."""
    match = CODE_BLOCK.search(reply)
    if match is None:
        return None
    lines = text.splitlines()
    indent = len(lines[where.first - 1]) - len(lines[where.first - 1].lstrip())
    new = textwrap.indent(textwrap.dedent(match.group(1)).rstrip("\n"), " " * indent)
    return "\n".join(lines[:where.first - 1] + new.split("\n") + lines[where.last:]) + "\n"


async def attempt(llm: LLM, task: Task, out: Path) -> Attempt:
    where = target(task)
    if where is None:
        return Attempt(task.instance_id, "not in a function")
    text = (task.repo_dir / where.path).read_text(encoding="utf-8")
    code = textwrap.dedent("\n".join(text.splitlines()[where.first - 1:where.last]))
    prompt = PROMPT.format(issue=task.problem_statement.strip(), path=where.path, code=code)
    started = time.monotonic()
    done = await llm.chat([Message(role="user", content=prompt)], max_tokens=1024, temperature=0.0)
    elapsed = time.monotonic() - started
    (out / f"{task.instance_id}.md").write_text(done.text, encoding="utf-8")
    fixed = replaced(text, where, done.text)
    outcome = "no code block"
    if fixed is not None:
        with tempfile.TemporaryDirectory(prefix="comem-ceiling-") as tmp:
            repo = Path(tmp) / "repo"
            shutil.copytree(task.repo_dir, repo)
            (repo / where.path).write_text(fixed, encoding="utf-8")
            outcome = "resolved" if (await asyncio.to_thread(grade, task, repo)).resolved else "wrong"
    return Attempt(task.instance_id, outcome, round(elapsed, 1), done.prompt_tokens or 0, done.completion_tokens)


async def main(model: str, tasks_dir: Path, threads: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tasks = load_tasks(tasks_dir)
    attempts = []
    async with open_model(ModelConfig(model=model, n_ctx=8192), "ceiling", out, threads) as llm:
        for task in tasks:
            attempts.append(await attempt(llm, task, out))
            print(json.dumps(asdict(attempts[-1])), flush=True)
    asked = [a for a in attempts if a.outcome != "not in a function"]
    resolved = sum(a.outcome == "resolved" for a in asked)
    summary = (f"{model} on {tasks_dir}: resolved {resolved}/{len(asked)} with the function given "
               f"({len(attempts) - len(asked)} more tasks change code outside a function)")
    (out / "attempts.jsonl").write_text("".join(json.dumps(asdict(a)) + "\n" for a in attempts), encoding="utf-8")
    print(summary)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="bundled model name or GGUF path")
    parser.add_argument("tasks", type=Path, help="a task directory (e.g. from `comem tasks synth`)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/repair-ceiling"))
    args = parser.parse_args()
    asyncio.run(main(args.model, args.tasks, args.threads, args.out))
