"""A small run directory written with the real writers, with figures chosen so the report's numbers are known."""

from __future__ import annotations

from pathlib import Path

import yaml

from comem.core.jsonlog import JsonlLog
from comem.core.records import EpisodeStart, MemoryRecord, Step, ToolCall
from comem.eval.episode import episode_end
from comem.eval.results import EpisodeResult, ResultsFile, trajectory_path


def step(index: int, agent_s: float, wait_s: float = 0.0, command: str = "ls") -> Step:
    return Step(index=index, thought=f"step {index}", response="", observation=f"Exit code: 0\nsrc/pkg/mod{index}.py",
                action=ToolCall(name="bash", arguments={"command": command}), agent_total_s=agent_s,
                memory_wait_s=wait_s, prompt_tokens=100 * (index + 1), completion_tokens=10)


def write_episode(run: Path, arm: str, task: str, seed: int, steps: list[Step], wall_s: float,
                  resolved: bool | None, memory: list[MemoryRecord] = (), **options: object) -> None:
    writer = JsonlLog(trajectory_path(run / arm, task, seed))
    writer.append(EpisodeStart(instance_id=task, strategy=arm, system_prompt="S", task_prompt="T",
                              config={"strategy": {"name": arm, "memory_obs_chars": 4000, **options}}))
    for record in [*steps, *memory]:
        writer.append(record)
    end = episode_end(task, arm, "submitted", steps, list(memory), wall_s=wall_s, resolved=resolved)
    writer.append(end)
    writer.close()
    ResultsFile(run / arm / "results.jsonl").append(EpisodeResult(**end.model_dump(), seed=seed))


def sample_run(run: Path) -> Path:
    """full and kso on tasks a, b (seed 0); mask on task c (seed 1) only. See tests/report/test_summary.py."""
    (run).mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"arms": [{"name": "full"}, {"name": "kso", "options": {"k": 1}},
                                                               {"name": "mask"}]}))
    write_episode(run, "full", "a", 0, [step(0, 2.0), step(1, 2.0)], 10.0, True)
    write_episode(run, "full", "b", 0, [step(0, 1.0), step(1, 1.0), step(2, 1.0)], 6.0, False)
    memory = [
        MemoryRecord(id=0, strategy="kso", mode="from_scratch", covers=(0, 1), launch_step=1, status="ok",
                     summary="Ran ls; saw src/pkg/mod0.py.", summary_tokens=10, covered_tokens_est=50,
                     launched_s=1.0, finished_s=3.0, exposed_wait_s=0.5),
        MemoryRecord(id=1, strategy="kso", mode="from_scratch", covers=(0, 2), launch_step=2, status="error",
                     error="timed out", launched_s=3.0, finished_s=4.0),
        MemoryRecord(id=2, strategy="kso", mode="from_scratch", covers=(0, 3), launch_step=3, status="superseded",
                     launched_s=4.0, finished_s=4.5),
    ]
    write_episode(run, "kso", "a", 0, [step(0, 0.8, 0.2), step(1, 1.0)], 5.0, True, memory)
    write_episode(run, "kso", "b", 0, [step(0, 0.5), step(1, 0.5), step(2, 0.5)], 3.0, True)
    write_episode(run, "mask", "c", 1, [step(0, 1.0)], 2.0, None)
    return run
