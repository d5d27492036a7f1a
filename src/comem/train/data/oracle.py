"""Oracle research trajectories: the searches that solve BrowseComp-style questions, run in the real browser.

The memory model learns from what the agent's next action needs. The bundled agents' own trajectories hardly ever
need an old tool output (docs/results.md §9.10: 6 of 172 records), so no reward computed on them can tell a memory
that keeps what the outputs said from one that does not. A research agent working on several questions at once
does need them: it searches for one question, then another, and reads the first one's result two steps later.

`write_oracle` runs such a course for every task of combined questions (`browsecomp:...?combine=N`): each
question's hops (`hops.jsonl`: the query that finds each page and the page's url) are taken in turn across the
questions, a search for every question's next hop and then a fetch of every page found (`interleaved`), or one
question after the other (`sequential`); the last step submits the answers. Every call runs in the real browser
over the task's corpus, so the observations are what an agent would read, and each trajectory is graded as a run
grades it. The result is a `comem run` arm directory (`<out>/oracle/trajectories/*.jsonl`) that `comem train
data grpo` reads as it reads a run (with `--variant browsecomp`). Its actions are a script's, not a model's: a
record then asks whether the agent, given a memory, takes the step that the clues found so far call for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from comem.agent.loop import Outcome
from comem.core.errors import ComemError
from comem.core.jsonlog import append_jsonl
from comem.core.records import EpisodeEnd, EpisodeStart, Step, ToolCall
from comem.tasks.browsecomp import BrowseHarness, BrowseSettings, BrowseTask

Order = Literal["interleaved", "sequential"]
ORACLE_ARM = "oracle"


class Hop(BaseModel):
    query: str
    url: str


class Trail(BaseModel):
    """One question's hops (a `hops.jsonl` row)."""

    task_id: str
    hops: list[Hop]


def read_hops(path: Path) -> dict[str, list[Hop]]:
    """`{task_id: hops}` from a `hops.jsonl` of `{task_id, hops: [{query, url}]}` rows."""
    trails: dict[str, list[Hop]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ComemError(f"Cannot read the hops file {path}: {error}.",
                         fix="Pass a readable hops.jsonl of {task_id, hops: [{query, url}]} rows.") from None
    for lineno, line in enumerate(lines, start=1):
        if line.strip():
            try:
                trail = Trail.model_validate_json(line)
            except ValidationError as error:
                raise ComemError(f"{path}:{lineno}: not a hops row ({error.errors()[0]['msg']}).",
                                 fix='Write {"task_id": "...", "hops": [{"query": "...", "url": "..."}]} per line.'
                                 ) from None
            trails[trail.task_id] = trail.hops
    return trails


def plan(task: BrowseTask, trails: dict[str, list[Hop]], order: Order) -> Iterator[tuple[str, ToolCall]]:
    """(thought, call) for every step of one task's oracle course; its questions' ids are `task`'s, split at +."""
    ids = task.instance_id.split("+")
    missing = [i for i in ids if not trails.get(i)]
    if missing:
        raise ComemError(f"No hops for question(s) {', '.join(missing)} of task {task.instance_id}.",
                         fix="Give every question a row with its hops in the hops file.")
    many = len(ids) > 1
    trails_of = [(n, trails[i]) for n, i in enumerate(ids, start=1)]
    if order == "sequential":  # one hop at a time, question after question
        rounds = [[(n, hop)] for n, hops in trails_of for hop in hops]
    else:  # every question's next hop, level by level
        rounds = [[(n, hops[level]) for n, hops in trails_of if level < len(hops)]
                  for level in range(max(len(hops) for _, hops in trails_of))]
    for hops_now in rounds:  # the searches of a round, then the fetches of the pages they find
        for n, hop in hops_now:
            yield f"Search for {hop.query}{f' (question {n})' if many else ''}.", ToolCall(
                name="search", arguments={"q": hop.query})
        for n, hop in hops_now:
            yield f"Read {hop.url}{f' (question {n})' if many else ''}.", ToolCall(
                name="fetch", arguments={"url": hop.url})
    yield "I have every answer, so I submit them.", ToolCall(name="submit_answer",
                                                             arguments={"answer": task.ground_truth})


async def run_oracle(task: BrowseTask, trails: dict[str, list[Hop]], order: Order,
                     harness: BrowseHarness) -> tuple[EpisodeStart, list[Step], EpisodeEnd]:
    """One task's oracle course, every call executed in the browser, graded as a run grades it."""
    env = harness.open(task, bash_timeout_s=60.0)
    try:
        pinned = harness.pinned(task, env)
        steps: list[Step] = []
        for index, (thought, call) in enumerate(plan(task, trails, order)):
            result = await env.execute(call)
            if result.exit_code != 0:
                raise ComemError(f"The oracle's {call.name} {json.dumps(call.arguments)} failed on task "
                                 f"{task.instance_id}: {result.output.splitlines()[-1]}",
                                 fix="Fix the hops file: every url must be a page of the corpus.")
            response = thought + "\n" + json.dumps({"name": call.name, "arguments": call.arguments},
                                                   ensure_ascii=False)
            steps.append(Step(index=index, thought=thought, response=response, action=call,
                              observation=result.output, tool_s=result.elapsed_s))
        verdict = await harness.grade(task, env, Outcome("submitted", steps))
    finally:
        env.close()
    start = EpisodeStart(instance_id=task.instance_id, strategy=ORACLE_ARM, config={"order": order},
                         system_prompt=pinned.system, task_prompt=pinned.task)
    end = EpisodeEnd(instance_id=task.instance_id, strategy=ORACLE_ARM, exit_reason="submitted", steps=len(steps),
                     resolved=verdict.resolved, grade_error=verdict.error, grade_detail=verdict.detail,
                     patch=env.diff(), wall_s=0.0, agent_s=0.0, tool_s=sum(s.tool_s for s in steps),
                     memory_wait_s=0.0, max_prompt_tokens=0, memory_updates=0)
    return start, steps, end


def write_oracle(tasks: list[BrowseTask], trails: dict[str, list[Hop]], out: Path,
                 order: Order = "interleaved") -> list[EpisodeEnd]:
    """Write `<out>/oracle/trajectories/<task>.jsonl` (replacing older ones) and return the graded ends."""
    if not tasks:
        raise ComemError("No tasks to write oracle trajectories for.", fix="Pass a task source with questions.")
    harness = BrowseHarness(BrowseSettings(search="bm25"))
    folder = out / ORACLE_ARM / "trajectories"
    folder.mkdir(parents=True, exist_ok=True)
    ends = []
    for task in tasks:
        if task.corpus is None:
            raise ComemError(f"Task {task.instance_id} has no corpus, and oracle courses run offline only.",
                             fix="Use questions with a corpus folder (browsecomp:mini, or PATH?corpus=DIR).")
        start, steps, end = asyncio.run(run_oracle(task, trails, order, harness))
        path = folder / f"{task.instance_id}.jsonl"
        path.unlink(missing_ok=True)
        append_jsonl(path, [start, *steps, end])
        ends.append(end)
    return ends
