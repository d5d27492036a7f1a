"""Recorded trajectories, for replay and training data: `comem run` output, SWE-agent `.traj`, R2E-Gym JSONL.

`load_recorded(source)` detects the format and returns `RecordedTrajectory`s (pinned prompts + steps):

comem run
    A run directory (`<run>/<arm>/trajectories/<task>.jsonl`), one arm's directory, a directory of trajectory
    files, or one `.jsonl` file (an `episode_start` line with `system_prompt`/`task_prompt`, then `step` lines).
    Steps are kept exactly as recorded. Of a run directory one arm is read: `arm=` names it; by default the
    `full` arm if there is one (it saw the whole history, so its actions are the unmanaged ones), else the only
    arm; with several arms and none of them `full`, pass `arm=`. The name of a trajectory is its instance_id.
SWE-agent
    A `*.traj` JSON file, or a directory searched recursively for them. `trajectory`: the steps, each with
    `response` (the raw reply, replayed verbatim), `thought`, `action`, `observation`, `execution_time`
    (all optional); `history`: the first `system` message is the system prompt, the first `user` message
    that is not a demonstration (`is_demo`, `message_type: demonstration`) is the task; message content may
    be a string or a list of `{"type": "text", "text": ...}` parts. Name: the file name without `.traj`.
R2E-Gym style
    A `.jsonl` file with one trajectory per line (or a `.json` file holding one trajectory or a list).
    Per trajectory: `trajectory_steps` (required, a list), the task from `problem_statement`, `task` or
    `instance_prompt` (or `ds.problem_statement`), the system prompt from `system_prompt` or
    `agent_args.system_prompt` (optional), the name from `instance_id`, `ds.instance_id` or the last
    `.`-part of `docker_image` (else `<file stem>-<line>`). Per step: `thought`, `action`, `observation`,
    tool time from `env_exec_time` / `execution_time` / `tool_s`, agent time from `llm_exec_time`, tokens
    from `token_usage_completion` / `token_usage_prompt` (all optional). A `.jsonl` line with a `trajectory`
    list is read as a SWE-agent trajectory.

Imported steps: `response` is the recorded reply if there is one, else thought + "\\n" + action;
`tool_s` the recorded execution time (else 0); `completion_tokens` the recorded count (else 0: unknown, so
replay estimates it from the reply). `action` becomes a `ToolCall` so memory inputs show it: a
`<function=...>` or JSON call when the action text holds one, otherwise SWE-agent's command line as `bash`.

Trajectories without steps are skipped; a source that yields none, a missing path, an unknown format,
malformed JSON or non-UTF-8 bytes raise one `ComemError` that says what to fix. Names are made unique by
appending `~2`, `~3`, ... to repeats, in load order (sorted paths, then line order). `limit` keeps the first N.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from comem.core.actions import parse_action
from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.metrics import BASELINE
from comem.core.records import Completion, EpisodeStart, Step, ToolCall


class RecordedTrajectory(BaseModel):
    """One trajectory to replay: the pinned prompts and the recorded steps (actions + observations)."""

    name: str
    system: str
    task: str
    steps: list[Step]


DEFAULT_ARM = BASELINE  # a run directory's arm to read when it has several: the full-history one
_COMEM_TYPES = {"episode_start", "step", "memory", "episode_end"}
_FORMATS_FIX = (
    "Pass a `comem run` directory, an arm directory or a trajectory .jsonl file from it, a SWE-agent .traj "
    "file (or a directory of them), or an R2E-Gym-style .jsonl with `trajectory_steps` on every line."
)


def load_recorded(
    source: str | Path, *, arm: str | None = None, limit: int | None = None
) -> list[RecordedTrajectory]:
    """Load the trajectories in `source` (format detected); `arm` picks a run directory's arm."""
    path = Path(source).expanduser()
    if limit is not None and limit < 1:
        raise ComemError(f"limit must be at least 1, got {limit}.", fix="Pass a positive limit, or none for all.")
    if not path.exists():
        raise ComemError(f"Trajectory source {path} does not exist.", fix=_FORMATS_FIX)
    arms = _arm_dirs(path) if path.is_dir() else []
    if arm is not None and not arms:
        raise ComemError(f"arm={arm!r} was given, but {path} is not a `comem run` directory (no <arm>/trajectories/).",
                         fix="Drop `arm`, or point at the run directory that holds the arms.")
    if arms:
        chosen = _choose_arm(path, arms, arm)
        found = _take(_comem_dir(chosen / "trajectories"), limit)
    elif path.is_dir():
        found = _take(_directory(path), limit)
    else:
        found = _take(_file(path), limit)
    if not found:
        raise ComemError(f"No trajectory with at least one step found in {path}.",
                         fix="Point at trajectories that recorded steps; " + _FORMATS_FIX)
    return _unique_names(found)


# --------------------------------------------------------------------------- dispatch


def _take(items: Iterator[RecordedTrajectory], limit: int | None) -> list[RecordedTrajectory]:
    """Non-empty trajectories in order, up to `limit`, without reading past it."""
    out: list[RecordedTrajectory] = []
    for item in items:
        if not item.steps:
            continue
        out.append(item)
        if limit is not None and len(out) >= limit:
            break
    return out


def _unique_names(trajectories: list[RecordedTrajectory]) -> list[RecordedTrajectory]:
    seen: dict[str, int] = {}
    for rec in trajectories:
        count = seen.get(rec.name, 0) + 1
        seen[rec.name] = count
        if count > 1:
            rec.name = f"{rec.name}~{count}"
    return trajectories


def _arm_dirs(path: Path) -> list[Path]:
    """The arm directories of a run directory (children with a trajectories/ folder), sorted."""
    if (path / "trajectories").is_dir():
        return []  # an arm directory itself
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "trajectories").is_dir())


def _choose_arm(run_dir: Path, arms: list[Path], arm: str | None) -> Path:
    names = [p.name for p in arms]
    if arm is not None:
        if arm not in names:
            raise ComemError(f"Run directory {run_dir} has no arm {arm!r}; its arms: {', '.join(names)}.",
                             fix="Pass one of the listed arms.")
        return run_dir / arm
    if DEFAULT_ARM in names:
        return run_dir / DEFAULT_ARM
    if len(arms) == 1:
        return arms[0]
    raise ComemError(f"Run directory {run_dir} has several arms ({', '.join(names)}) and none is {DEFAULT_ARM!r}.",
                     fix="Pick one with arm=..., or point at one arm's directory.")


def _directory(path: Path) -> Iterator[RecordedTrajectory]:
    if (path / "trajectories").is_dir():  # one arm's directory
        yield from _comem_dir(path / "trajectories")
        return
    trajs = sorted(path.rglob("*.traj"))
    if trajs:
        for traj in trajs:
            yield _swe_agent_file(traj)
        return
    files = sorted(path.glob("*.jsonl"))
    if not files:
        raise ComemError(f"No trajectory files in {path}: no <arm>/trajectories/, *.traj or *.jsonl files.",
                         fix=_FORMATS_FIX)
    for file in files:
        yield from _jsonl(file)


def _comem_dir(path: Path) -> Iterator[RecordedTrajectory]:
    files = sorted(path.glob("*.jsonl"))
    if not files:
        raise ComemError(f"{path} holds no trajectory .jsonl files.",
                         fix="Point at a run whose episodes started, or at another arm.")
    for file in files:
        yield from _jsonl(file)


def _file(path: Path) -> Iterator[RecordedTrajectory]:
    if path.suffix == ".traj":
        yield _swe_agent_file(path)
    elif path.suffix == ".jsonl":
        yield from _jsonl(path)
    elif path.suffix == ".json":
        data = _parse_json(_read_text(path), str(path))
        rows = data if isinstance(data, list) else [data]
        for i, row in enumerate(rows, start=1):
            yield _trajectory_object(row, f"{path}[{i}]" if isinstance(data, list) else str(path),
                                     f"{path.stem}-{i}" if isinstance(data, list) else path.stem)
    else:
        raise ComemError(f"{path} is not a trajectory file (expected .jsonl, .traj or .json).", fix=_FORMATS_FIX)


def _jsonl(path: Path) -> Iterator[RecordedTrajectory]:
    """A comem trajectory file, or JSONL with one R2E-Gym/SWE-agent trajectory per line; sniffed on line 1."""
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise ComemError(f"{path} is empty.", fix="Point at a trajectory file that recorded an episode.")
    lineno, line = first
    row = _parse_json(line, f"{path}:{lineno}")
    if isinstance(row, dict) and row.get("type") in _COMEM_TYPES:
        yield _comem_file(path)
        return
    yield _trajectory_object(row, f"{path}:{lineno}", f"{path.stem}-{lineno}")
    for lineno, line in lines:
        yield _trajectory_object(_parse_json(line, f"{path}:{lineno}"), f"{path}:{lineno}", f"{path.stem}-{lineno}")


def _trajectory_object(row: Any, where: str, fallback_name: str) -> RecordedTrajectory:
    if isinstance(row, dict) and isinstance(row.get("trajectory_steps"), list):
        return _r2e(row, where, fallback_name)
    if isinstance(row, dict) and isinstance(row.get("trajectory"), list):
        return _swe_agent(row, where, fallback_name)
    keys = ", ".join(sorted(row)[:8]) if isinstance(row, dict) else type(row).__name__
    raise ComemError(f"{where}: unknown trajectory format (found: {keys}).", fix=_FORMATS_FIX)


# --------------------------------------------------------------------------- reading


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ComemError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}).",
                         fix="Re-encode the file as UTF-8.") from None
    except OSError as exc:
        raise ComemError(f"Could not read {path}: {exc.strerror or exc}.", fix="Make the file readable.") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their numbers, streamed (R2E-Gym dumps can be large)."""
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.strip():
                    yield lineno, line
    except UnicodeDecodeError as exc:
        raise ComemError(f"{path} is not UTF-8 text ({exc.reason}).", fix="Re-encode the file as UTF-8.") from None
    except OSError as exc:
        raise ComemError(f"Could not read {path}: {exc.strerror or exc}.", fix="Make the file readable.") from None


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ComemError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}).",
                         fix="Fix or remove the broken JSON; a .jsonl file needs one JSON object per line.") from None
    except RecursionError:
        raise ComemError(f"{where}: JSON nested too deeply.", fix="Pass a trajectory file.") from None


# --------------------------------------------------------------------------- comem run


def _comem_file(path: Path) -> RecordedTrajectory:
    try:
        records = read_records(path)
    except UnicodeDecodeError as exc:
        raise ComemError(f"{path} is not UTF-8 text ({exc.reason}).", fix="Re-encode the file as UTF-8.") from None
    except OSError as exc:
        raise ComemError(f"Could not read {path}: {exc.strerror or exc}.", fix="Make the file readable.") from None
    except (KeyError, TypeError, ValidationError) as exc:
        detail = f"unknown record type {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise ComemError(f"{path}: not a comem trajectory ({detail}).",
                         fix="Pass a file written by `comem run`: one JSON record with a `type` per line.") from None
    start = next((r for r in records if isinstance(r, EpisodeStart)), None)
    if start is None:
        raise ComemError(f"{path} has no episode_start record, so the prompts are unknown.",
                         fix="Pass a complete trajectory file from `comem run` (its first line is episode_start).")
    steps = [r for r in records if isinstance(r, Step)]
    return RecordedTrajectory(name=start.instance_id, system=start.system_prompt, task=start.task_prompt, steps=steps)


# --------------------------------------------------------------------------- SWE-agent


def _swe_agent_file(path: Path) -> RecordedTrajectory:
    data = _parse_json(_read_text(path), str(path))
    if not isinstance(data, dict) or not isinstance(data.get("trajectory"), list):
        raise ComemError(f"{path}: not a SWE-agent trajectory (no `trajectory` list).", fix=_FORMATS_FIX)
    return _swe_agent(data, str(path), path.stem)


def _content(message: Any) -> str:
    """A message's text: a string, or the text parts of a content list."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def _swe_agent(data: dict[str, Any], where: str, name: str) -> RecordedTrajectory:
    history = data.get("history") if isinstance(data.get("history"), list) else []
    system = next((_content(m) for m in history if isinstance(m, dict) and m.get("role") == "system"), "")
    task = next((_content(m) for m in history if isinstance(m, dict) and m.get("role") == "user"
                 and not m.get("is_demo") and m.get("message_type") != "demonstration"), "")
    if not task:
        raise ComemError(f"{where}: no task prompt (the first non-demonstration `user` message of `history`).",
                         fix="Pass the full .traj file SWE-agent wrote; it keeps the prompts in `history`.")
    steps = []
    for i, raw in enumerate(data["trajectory"]):
        step = _mapping(raw, f"{where}: trajectory[{i}]")
        thought, action = _text(step, "thought"), _text(step, "action")
        response = _text(step, "response") or _join(thought, action)
        steps.append(_step(i, thought, response, _action(action, bash_fallback=True), _text(step, "observation"),
                           tool_s=_seconds(step, "execution_time")))
    return RecordedTrajectory(name=name, system=system, task=task, steps=steps)


# --------------------------------------------------------------------------- R2E-Gym


def _r2e(row: dict[str, Any], where: str, fallback_name: str) -> RecordedTrajectory:
    ds = row.get("ds") if isinstance(row.get("ds"), dict) else {}
    agent_args = row.get("agent_args") if isinstance(row.get("agent_args"), dict) else {}
    task = next((v for v in (row.get("problem_statement"), row.get("task"), row.get("instance_prompt"),
                             ds.get("problem_statement")) if isinstance(v, str) and v.strip()), "")
    if not task:
        raise ComemError(f"{where}: no task text (`problem_statement`, `task` or `instance_prompt`).",
                         fix="Add the task statement to every trajectory.")
    system = next((v for v in (row.get("system_prompt"), agent_args.get("system_prompt")) if isinstance(v, str)), "")
    image = row.get("docker_image")
    name = next((v for v in (row.get("instance_id"), ds.get("instance_id"),
                             image.split(".")[-1] if isinstance(image, str) else None) if isinstance(v, str) and v),
                fallback_name)
    steps = []
    for i, raw in enumerate(row["trajectory_steps"]):
        step = _mapping(raw, f"{where}: trajectory_steps[{i}]")
        thought, action = _text(step, "thought"), _text(step, "action")
        steps.append(_step(
            i, thought, _text(step, "response") or _join(thought, action), _action(action, bash_fallback=False),
            _text(step, "observation"),
            tool_s=_seconds(step, "env_exec_time", "execution_time", "tool_s"),
            agent_s=_seconds(step, "llm_exec_time"),
            completion_tokens=_count(step, "token_usage_completion", "completion_tokens"),
            prompt_tokens=_count(step, "token_usage_prompt", "prompt_tokens"),
        ))
    return RecordedTrajectory(name=name, system=system, task=task, steps=steps)


# --------------------------------------------------------------------------- step mapping


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ComemError(f"{where} is a {type(raw).__name__}, not an object.",
                         fix="Every step must be a JSON object with thought/action/observation.")
    return raw


def _text(step: dict[str, Any], key: str) -> str:
    value = step.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _join(thought: str, action: str) -> str:
    return "\n".join(part for part in (thought.strip(), action.strip()) if part)


def _seconds(step: dict[str, Any], *keys: str) -> float:
    for key in keys:
        value = step.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return max(0.0, float(value))
    return 0.0


def _count(step: dict[str, Any], *keys: str) -> int:
    for key in keys:
        value = step.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            return int(value)
    return 0


def _action(text: str, *, bash_fallback: bool) -> ToolCall | None:
    """A tool call from the action text (XML or JSON call); SWE-agent's plain command lines become `bash`."""
    if not text.strip():
        return None
    call = parse_action(Completion(text=text), []).call
    if call is None and bash_fallback:
        call = ToolCall(name="bash", arguments={"command": text.strip()})
    return call


def _step(index: int, thought: str, response: str, action: ToolCall | None, observation: str, *, tool_s: float,
          agent_s: float = 0.0, completion_tokens: int = 0, prompt_tokens: int = 0) -> Step:
    return Step(index=index, thought=thought, response=response, action=action, observation=observation,
                tool_s=tool_s, agent_total_s=agent_s, completion_tokens=completion_tokens,
                prompt_tokens=prompt_tokens)
