"""A default replay workload that needs no earlier run: scripted walks through bundled tasks with the real tools.

Each trajectory takes one bundled task, copies its repository into a real `Workspace` and executes a fixed
plan of what agents typically do: list the repository, search the names the issue mentions, read the source
files the issue is about, run the tests, read the other files (skimming the first 40 lines of long ones), the
tests and the README, then mark the place of the fix with a small edit, look at `git diff` and rerun the tests.
Every observation is the tool's real output and every `tool_s` its measured time; each reply is one short
sentence plus the JSON tool call, the shape `agent_system.txt` asks the agent for. The pinned prompts are the
ones `comem run` would send. On the bundled tasks a 16-step history grows to about 5-8K estimated tokens
(pinned prompts ~0.7-0.9K, observations ~30-1400 tokens each).

The text is deterministic for a given (n, steps, seed): the seed picks the tasks and orders the reading; the
durations pytest prints are replaced by a fixed `0.01s` so the observations do not change between calls.
Only `tool_s` varies. Plans longer than the default walk re-read source files in 40-line windows.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from comem.context.base import estimate_tokens
from comem.core.errors import ComemError
from comem.core.records import Step, ToolCall
from comem.environment.workspace import Workspace
from comem.tasks.prompts import pinned_prompts, repo_files
from comem.tasks.task import Task, load_tasks
from comem.trajectories.sources import RecordedTrajectory

WINDOW_LINES = 40
SKIM_AFTER_WINDOWS = 1  # files the issue does not name are read whole up to 2 windows, else skimmed
_DURATION = re.compile(r"(?<= in )\d+(?:\.\d+)?s\b")
_BACKTICKED = re.compile(r"(?<!`)`([A-Za-z_][\w.]*)(?:\(\))?`(?!`)")
_CALLED = re.compile(r"\b([A-Za-z_]\w{2,})\(")
_NOT_NAMES = {"print", "str", "len", "int", "list", "dict", "set", "repr", "float", "tuple", "range", "sorted",
              "isinstance", "type", "bool", "round", "open", "sum", "min", "max"}

T = TypeVar("T")


@dataclass(frozen=True)
class _Action:
    thought: str
    call: ToolCall


def sample_trajectories(n: int = 2, steps: int = 16, seed: int = 0) -> list[RecordedTrajectory]:
    """`n` trajectories of `steps` real tool steps each on bundled tasks (see the module docstring)."""
    return _run_sync(lambda: asample_trajectories(n, steps, seed))


async def asample_trajectories(n: int = 2, steps: int = 16, seed: int = 0) -> list[RecordedTrajectory]:
    """`sample_trajectories` for callers already inside an event loop."""
    if n < 1 or steps < 1:
        raise ComemError(f"Need n >= 1 and steps >= 1, got n={n}, steps={steps}.",
                         fix="Ask for at least one trajectory of at least one step.")
    tasks = sorted(load_tasks(), key=lambda t: t.instance_id)
    order = random.Random(f"comem-sample:{seed}").sample(range(len(tasks)), len(tasks))
    out = []
    for i in range(n):
        task = tasks[order[i % len(tasks)]]
        rng = random.Random(f"comem-sample:{seed}:{i}")
        out.append(await _walk(task, f"sample{i}-{task.instance_id}", steps, rng))
    return out


def history_tokens(rec: RecordedTrajectory) -> list[int]:
    """Estimated tokens of the full history after each step (pinned prompts + replies + observations)."""
    total = estimate_tokens(rec.system) + estimate_tokens(rec.task)
    grown = []
    for step in rec.steps:
        total += estimate_tokens(step.response) + estimate_tokens(step.observation)
        grown.append(total)
    return grown


# --------------------------------------------------------------------------- the walk


async def _walk(task: Task, name: str, steps: int, rng: random.Random) -> RecordedTrajectory:
    with Workspace.create(task.repo_dir) as ws:
        pinned = pinned_prompts(task, ws.tool_specs, ws.root)
        plan = _plan(task, ws.root, steps, rng)
        recorded = []
        for index, action in enumerate(plan):
            result = await ws.execute(action.call)
            response = action.thought + "\n" + json.dumps({"name": action.call.name,
                                                           "arguments": action.call.arguments})
            recorded.append(Step(
                index=index, thought=action.thought, response=response, action=action.call,
                observation=_stable(result.output, ws.root), tool_s=result.elapsed_s,
                completion_tokens=estimate_tokens(response),
            ))
    return RecordedTrajectory(name=name, system=pinned.system, task=pinned.task, steps=recorded)


def _stable(output: str, root: Path) -> str:
    """The observation without what changes between runs: pytest's durations and the temp workspace path."""
    return _DURATION.sub("0.01s", output).replace(str(root), "/repo")


def _plan(task: Task, root: Path, steps: int, rng: random.Random) -> list[_Action]:
    files = repo_files(root)
    sources = [f for f in files if f.endswith(".py") and "test" not in f and not f.endswith("__init__.py")]
    tests = [f for f in files if f.endswith(".py") and "test" in Path(f).name]
    statement = task.problem_statement
    names = _issue_names(statement)
    # the file defining the issue's first name first, then the other files the issue names
    defining = [f for n in names for f in sources if _def_line(root / f, [n])[1] == n][:1]
    mentioned = list(dict.fromkeys(defining + [f for f in sources if Path(f).stem in statement])) or sources[:1]
    pytest_cmd = task.test_command + " -q"

    head = [_view(".", "Let me look at the layout of the repository first.")]
    if names:
        head.append(_search(names[0], f"I'll search for `{names[0]}` to find where it is defined."))
    head += [_view(f, f"Let me read {f}, which the issue is about.") for f in mentioned]
    head.append(_bash(pytest_cmd, "Let me run the test suite to see what passes now."))
    reading = [_skim(root, f, f"Let me read {f} to see how it fits in.") for f in sources if f not in mentioned]
    reading += [_skim(root, f, f"Let me check what {f} covers.") for f in tests]
    reading += [_search(n, f"I'll look for other uses of `{n}`.") for n in names[1:3]]
    reading += [_view(f, "Let me read the README for the documented behaviour.") for f in files if f == "README.md"]
    rng.shuffle(reading)
    windows = [_view(f, f"Let me look at lines {a}-{b} of {f} again.", (a, b))
               for f in sorted(sources, key=lambda f: -(root / f).stat().st_size)
               for a, b in _windows(root / f)]
    body = head + reading + windows
    tail = _finish(root, mentioned[0] if mentioned else None, names, pytest_cmd)
    if steps <= len(tail) + 1:
        return _cycle(body, steps)
    return _cycle(body, steps - len(tail)) + tail


def _finish(root: Path, target: str | None, names: list[str], pytest_cmd: str) -> list[_Action]:
    """A small edit above the function the issue names, then `git diff` and the tests again."""
    out = []
    if target is not None:
        line, name, indent = _def_line(root / target, names)
        note = f"{indent}# Fix for the issue goes here: check {name} against the expected behaviour.\n"
        out.append(_Action(f"I'll mark where `{name}` needs fixing in {target}.", ToolCall(
            name="file_editor",
            arguments={"command": "insert", "path": target, "insert_line": line - 1, "new_str": note})))
    out.append(_bash("git diff", "Let me review the change with git diff."))
    out.append(_bash(pytest_cmd, "Let me run the tests again to check that nothing broke."))
    return out


def _def_line(path: Path, names: list[str]) -> tuple[int, str, str]:
    """(1-based line, name, indentation) of the first `def`/`class` of a name from the issue, else the first def."""
    lines = path.read_text(encoding="utf-8").splitlines()
    defs = [(i + 1, m.group(2), m.group(1)) for i, line in enumerate(lines)
            if (m := re.match(r"(\s*)(?:async\s+)?(?:def|class)\s+(\w+)", line))]
    wanted = [d for n in names for d in defs if d[1] == n]
    if wanted or defs:
        return (wanted or defs)[0]
    return 1, path.stem, ""


def _issue_names(statement: str) -> list[str]:
    """Names in backticks, then called names in the issue's code, without builtins; first occurrence first."""
    found = [n.split(".")[-1] for n in _BACKTICKED.findall(statement)] + _CALLED.findall(statement)
    out: list[str] = []
    for name in found:
        if name not in out and name not in _NOT_NAMES and not name.startswith("__"):
            out.append(name)
    return out


def _windows(path: Path) -> list[tuple[int, int]]:
    count = len(path.read_text(encoding="utf-8").splitlines())
    return [(a, min(a + WINDOW_LINES - 1, count)) for a in range(1, count + 1, WINDOW_LINES)]


def _cycle(items: list[T], count: int) -> list[T]:
    return [items[i % len(items)] for i in range(count)]


def _view(path: str, thought: str, window: tuple[int, int] | None = None) -> _Action:
    arguments: dict[str, Any] = {"command": "view", "path": path}
    if window is not None:
        arguments["view_range"] = list(window)
    return _Action(thought, ToolCall(name="file_editor", arguments=arguments))


def _skim(root: Path, path: str, thought: str) -> _Action:
    """Files other than the ones the issue names: whole if short, else their first window."""
    windows = _windows(root / path)
    if len(windows) <= 1 + SKIM_AFTER_WINDOWS:
        return _view(path, thought)
    return _view(path, f"Let me skim the start of {path}.", windows[0])


def _search(term: str, thought: str) -> _Action:
    return _Action(thought, ToolCall(name="search", arguments={"search_term": term}))


def _bash(command: str, thought: str) -> _Action:
    return _Action(thought, ToolCall(name="bash", arguments={"command": command}))


def _run_sync(make: Callable[[], Any]) -> Any:
    """asyncio.run, also from inside a running loop (then on a worker thread with its own loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
