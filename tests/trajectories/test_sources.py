"""Loading trajectories to replay: real `comem run` output, SWE-agent .traj files, R2E-Gym-style JSONL, and
one clear error with a fix for every kind of bad input."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from comem.agent.loop import AgentConfig
from comem.context import parse_arm
from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeStart, Step, ToolCall
from comem.eval.episode import run_episode
from comem.llm.scripted import ScriptedLLM
from comem.tasks.task import load_tasks
from comem.trajectories.sources import load_recorded

TASK_ID = "semver-bump-minor"


def reply(name: str, **arguments) -> str:
    return "Next step.\n" + json.dumps({"name": name, "arguments": arguments})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `comem run`-shaped directory: the agent loop with a scripted model on a bundled task, two arms."""
    out = tmp_path_factory.mktemp("run")
    task = load_tasks(ids=[TASK_ID])[0]
    script = [
        reply("file_editor", command="view", path="semverlite/version.py"),
        reply("search", search_term="bump_minor"),
        reply("bash", command="ls"),
        reply("submit"),
    ]
    for arm in ("full", "mask"):
        path = out / arm / "trajectories" / f"{TASK_ID}.jsonl"
        asyncio.run(run_episode(task, parse_arm(arm), ScriptedLLM(script), None, AgentConfig(max_steps=10),
                                path, do_grade=False))
    return out


def test_run_dir_defaults_to_the_full_arm(run_dir: Path) -> None:
    (rec,) = load_recorded(run_dir)
    path = run_dir / "full" / "trajectories" / f"{TASK_ID}.jsonl"
    records = read_records(path)
    start = next(r for r in records if isinstance(r, EpisodeStart))
    assert rec.name == TASK_ID
    assert (rec.system, rec.task) == (start.system_prompt, start.task_prompt)
    assert rec.steps == [r for r in records if isinstance(r, Step)]
    assert [s.action.name for s in rec.steps] == ["file_editor", "search", "bash", "submit"]
    assert "def bump_minor" in rec.steps[0].observation and rec.steps[2].tool_s > 0


def test_arm_dir_file_and_arm_choice_agree(run_dir: Path) -> None:
    by_arm = load_recorded(run_dir, arm="mask")
    arm_dir = load_recorded(run_dir / "mask")
    trajectories_dir = load_recorded(run_dir / "mask" / "trajectories")
    single = load_recorded(run_dir / "mask" / "trajectories" / f"{TASK_ID}.jsonl")
    assert by_arm == arm_dir == trajectories_dir == single
    assert by_arm[0].steps[0].observation == load_recorded(run_dir)[0].steps[0].observation


def test_several_arms_without_full_need_an_arm(run_dir: Path, tmp_path: Path) -> None:
    for arm in ("kso", "mask"):
        target = tmp_path / arm / "trajectories"
        target.mkdir(parents=True)
        (target / f"{TASK_ID}.jsonl").write_bytes((run_dir / "mask" / "trajectories" / f"{TASK_ID}.jsonl").read_bytes())
    with pytest.raises(ComemError, match="several arms") as err:
        load_recorded(tmp_path)
    assert "arm=" in err.value.fix
    assert load_recorded(tmp_path, arm="kso")[0].name == TASK_ID
    with pytest.raises(ComemError, match="no arm 'sync'.*kso, mask"):
        load_recorded(tmp_path, arm="sync")
    with pytest.raises(ComemError, match="not a `comem run` directory"):
        load_recorded(tmp_path / "kso" / "trajectories" / f"{TASK_ID}.jsonl", arm="kso")


def test_partial_comem_file_without_start_is_refused(run_dir: Path, tmp_path: Path) -> None:
    lines = (run_dir / "full" / "trajectories" / f"{TASK_ID}.jsonl").read_text().splitlines()
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(ComemError, match="no episode_start") as err:
        load_recorded(path)
    assert err.value.fix
    path.write_text(lines[0] + "\n")  # started, no step yet
    with pytest.raises(ComemError, match="at least one step"):
        load_recorded(path)


def swe_agent_traj(instance: str, steps: int = 2) -> dict:
    return {
        "environment": "swe_main",
        "trajectory": [
            {
                "response": f"DISCUSSION\nLook at the files ({i}).\n\n```\nls -F\n```",
                "thought": f"DISCUSSION\nLook at the files ({i}).",
                "action": "ls -F\n",
                "observation": "AUTHORS.rst\nsetup.py\n" if i else None,
                "state": {"open_file": "n/a", "working_dir": "/repo"},
                **({"execution_time": 0.25} if i else {}),
            }
            for i in range(steps)
        ],
        "history": [
            {"role": "system", "content": "SETTING: you are an autonomous programmer.", "agent": "primary"},
            {"role": "user", "content": "Here is a demonstration ...", "is_demo": True},
            {"role": "user", "content": [{"type": "text", "text": "ISSUE: fix"}, {"type": "text", "text": "it."}],
             "message_type": "observation"},
        ],
        "info": {"exit_status": "submitted", "model_stats": {"tokens_sent": 100}},
    }


def test_swe_agent_traj_file(tmp_path: Path) -> None:
    path = tmp_path / "astropy__astropy-12907.traj"
    path.write_text(json.dumps(swe_agent_traj("astropy__astropy-12907")))
    (rec,) = load_recorded(path)
    assert rec.name == "astropy__astropy-12907"
    assert rec.system == "SETTING: you are an autonomous programmer." and rec.task == "ISSUE: fix\nit."
    first, second = rec.steps
    assert first.response.endswith("```\nls -F\n```") and first.observation == "" and first.tool_s == 0.0
    assert second.observation == "AUTHORS.rst\nsetup.py\n" and second.tool_s == 0.25
    assert second.action == ToolCall(name="bash", arguments={"command": "ls -F"})
    assert [s.index for s in rec.steps] == [0, 1] and second.completion_tokens == 0


def test_swe_agent_directory_is_searched_recursively_with_limit(tmp_path: Path) -> None:
    for name in ("b__b-2", "a__a-1", "c__c-3"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.traj").write_text(json.dumps(swe_agent_traj(name)))
    (tmp_path / "preds.json").write_text("{}")  # other files of a SWE-agent run are ignored
    assert [r.name for r in load_recorded(tmp_path)] == ["a__a-1", "b__b-2", "c__c-3"]
    assert [r.name for r in load_recorded(tmp_path, limit=2)] == ["a__a-1", "b__b-2"]


def r2e_row(image: str, steps: int = 2, **extra) -> dict:
    return {
        "problem_statement": f"Fix {image}.",
        "docker_image": f"namanjain12/{image}",
        "agent_args": {"system_prompt": "You are a programming agent."},
        "trajectory_steps": [
            {
                "step_idx": i,
                "thought": f"Let me look ({i}).",
                "action": f"<function=execute_bash>\n  <parameter=cmd>ls {i}</parameter>\n</function>",
                "observation": f"Exit code: 0\nfile{i}.py",
                "llm_exec_time": 1.5,
                "env_exec_time": 0.125,
                "token_usage_completion": 42,
                "token_usage_prompt": 1000 + i,
            }
            for i in range(steps)
        ],
        "exit_reason": "agent",
        **extra,
    }


def test_r2e_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "r2e.jsonl"
    rows = [r2e_row("pandas.new_commit_abc"), r2e_row("empty", steps=0), r2e_row("pandas.new_commit_abc"),
            r2e_row("x", instance_id="given-id", system_prompt="SYS")]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    recs = load_recorded(path)
    assert [r.name for r in recs] == ["new_commit_abc", "new_commit_abc~2", "given-id"]  # empty one skipped
    rec = recs[0]
    assert rec.task == "Fix pandas.new_commit_abc." and rec.system == "You are a programming agent."
    step = rec.steps[1]
    assert step.response == "Let me look (1).\n" + rows[0]["trajectory_steps"][1]["action"]
    assert step.action == ToolCall(name="execute_bash", arguments={"cmd": "ls 1"})
    assert (step.tool_s, step.agent_total_s, step.completion_tokens, step.prompt_tokens) == (0.125, 1.5, 42, 1001)
    assert recs[2].system == "SYS"
    assert [r.name for r in load_recorded(path, limit=1)] == ["new_commit_abc"]


def test_r2e_json_file_and_tolerated_missing_keys(tmp_path: Path) -> None:
    row = {"task": "Do it.", "trajectory_steps": [{"action": "ls"}, {"thought": "done", "observation": 3}]}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(row))
    (rec,) = load_recorded(path)
    assert rec.name == "one" and rec.system == "" and rec.task == "Do it."
    assert rec.steps[0].response == "ls" and rec.steps[0].action is None and rec.steps[0].observation == ""
    assert rec.steps[1].observation == "3" and rec.steps[1].tool_s == 0.0


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.txt", b"hello", "not a trajectory file"),
    ("bad.jsonl", b'{"trajectory_steps": [], "task": "x"}\n{"trajectory_steps": [\n', r"bad.jsonl:2: not valid JSON"),
    ("bad.traj", b'{"trajectory": [', "not valid JSON"),
    ("latin1.jsonl", '{"task": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
    ("latin1.traj", '{"task": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
    ("empty.jsonl", b"\n\n", "is empty"),
    ("other.jsonl", b'{"foo": 1}\n', r"unknown trajectory format \(found: foo\)"),
    ("list.jsonl", b"[1, 2]\n", r"unknown trajectory format \(found: list\)"),
    ("nosteps.traj", json.dumps(swe_agent_traj("x", steps=0)).encode(), "at least one step"),
    ("notask.traj", json.dumps({"trajectory": [{"action": "ls"}], "history": []}).encode(), "no task prompt"),
    ("badstep.jsonl", json.dumps({"task": "t", "trajectory_steps": ["ls"]}).encode(), r"steps\[0\] is a str"),
    ("r2e-notask.jsonl", json.dumps({"trajectory_steps": [{"action": "ls"}]}).encode(), "no task text"),
    ("badtype.jsonl", b'{"type": "episode_start", "instance_id": "x"}\n', "not a comem trajectory"),
])
def test_bad_input_is_one_clear_error(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ComemError, match=message) as err:
        load_recorded(path)
    assert err.value.fix


def test_missing_path_empty_directory_and_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="does not exist") as err:
        load_recorded(tmp_path / "nope")
    assert "comem run" in err.value.fix
    with pytest.raises(ComemError, match="No trajectory files"):
        load_recorded(tmp_path)
    with pytest.raises(ComemError, match="limit"):
        load_recorded(tmp_path, limit=0)
