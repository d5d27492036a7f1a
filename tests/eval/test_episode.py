"""One episode through the real path: workspace, tools, grading. An agent that tampers with the tests it is
graded by is not resolved."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import defaultdict
from pathlib import Path

from comem.agent.loop import AgentConfig
from comem.context import parse_arm
from comem.eval.episode import MAX_STORED_PATCH_CHARS, run_episode
from comem.llm.scripted import ScriptedLLM
from comem.tasks.grading import git_apply
from comem.tasks.task import Task, load_tasks


def call(name: str, **arguments: str) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def with_tests_in_repo(task: Task, tmp_path: Path) -> Task:
    """The task as SWE-smith builds them: its failing tests already live in the repository, `test_patch` empty."""
    repo = tmp_path / "repo"
    shutil.copytree(task.repo_dir, repo)
    applied, output = git_apply(task.test_patch, repo, tmp_path)
    assert applied, output
    return task.model_copy(update={"repo_dir": repo, "test_patch": ""})


def passing_stubs(test_ids: list[str]) -> dict[str, str]:
    """Test files that define every named test as one that passes: what a tampering agent writes."""
    files: dict[str, list[str]] = defaultdict(list)
    for test_id in test_ids:
        path, *names = test_id.split("::")
        if len(names) == 2:
            files[path].append(f"class {names[0]}:\n    def {names[1]}(self):\n        pass\n")
        else:
            files[path].append(f"def {names[0]}():\n    pass\n")
    return {path: "\n\n".join(parts) for path, parts in files.items()}


def test_an_agent_that_rewrites_the_failing_tests_is_not_resolved(tmp_path: Path) -> None:
    task = with_tests_in_repo(load_tasks(ids=["unitconv-fahrenheit"])[0], tmp_path)
    stubs = passing_stubs(task.FAIL_TO_PASS)
    script = [call("bash", command=f"cat > {path} <<'EOF'\n{text}EOF") for path, text in stubs.items()]
    script += [call("bash", command="python -m pytest -q " + " ".join(stubs)), call("submit")]
    agent = ScriptedLLM(script)
    end = asyncio.run(run_episode(task, parse_arm("full"), agent, None, AgentConfig(max_steps=10),
                                  tmp_path / "trajectory.jsonl"))
    assert end.exit_reason == "submitted"
    assert "passed" in agent.requests[-1][-1].content  # the tampered tests pass in the agent's workspace
    assert end.resolved is False
    assert end.grade_detail["fail_to_pass"] == {t: False for t in task.FAIL_TO_PASS}


def test_a_huge_file_written_by_the_agent_is_cut_from_the_stored_patch_with_its_hash_and_size(tmp_path: Path) -> None:
    """A 60 MB file put a 61.6 MB line in results.jsonl and again in the trajectory."""
    task = load_tasks(ids=["unitconv-fahrenheit"])[0]
    script = [call("bash", command="python -c \"open('big.txt', 'w').write('x' * 100 + '\\n') "
                                   "and open('big.txt', 'a').write(('y' * 99 + '\\n') * 300_000)\""), call("submit")]
    path = tmp_path / "trajectory.jsonl"
    end = asyncio.run(run_episode(task, parse_arm("full"), ScriptedLLM(script), None, AgentConfig(max_steps=4), path,
                                  do_grade=False))
    assert end.exit_reason == "submitted" and end.patch.startswith("diff --git a/big.txt b/big.txt")
    assert len(end.patch) == MAX_STORED_PATCH_CHARS and "+" + "x" * 100 + "\n" in end.patch
    assert end.patch_bytes > 30_000_000 and len(end.patch_sha256) == 64
    assert path.stat().st_size < 2 * MAX_STORED_PATCH_CHARS


def test_the_bash_tool_set_solves_a_task_with_bash_alone(tmp_path: Path) -> None:
    """`loop.tools: bash`: the prompts list bash and submit only, file_editor is an unknown tool, and a patch applied
    with bash resolves the task (the grader is the real one)."""
    task = load_tasks(ids=["unitconv-fahrenheit"])[0]
    fix = task.patch
    script = [call("file_editor", command="view", path="."),
              call("bash", command=f"git apply <<'EOF'\n{fix}EOF"), call("submit")]
    agent = ScriptedLLM(script)
    end = asyncio.run(run_episode(task, parse_arm("full"), agent, None, AgentConfig(max_steps=5, tools="bash"),
                                  tmp_path / "trajectory.jsonl"))
    system = agent.requests[0][0].content
    assert "file_editor" not in system and "grep -rn" in system
    assert "Unknown tool `file_editor`" in agent.requests[1][-1].content
    assert end.exit_reason == "submitted" and end.resolved is True
