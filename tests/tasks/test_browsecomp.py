"""BrowseComp tasks: the loader (good and malformed rows), the harness, and a full scripted episode graded correct."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from comem.agent.loop import AgentConfig, Outcome
from comem.context import parse_arm
from comem.core.errors import ComemError
from comem.core.jsonlog import read_records
from comem.core.records import EpisodeStart, Message, Step
from comem.environment.browse.browser import BrowserEnv
from comem.eval.episode import run_episode
from comem.llm.scripted import ScriptedLLM
from comem.tasks.browsecomp import (
    HARNESS,
    BrowseHarness,
    BrowseSettings,
    BrowseTask,
    example_query,
    load_browsecomp,
    mini_suite_dir,
)
from comem.tasks.harness import harness_for
from tests.extras import reason
from tests.standin import Reply, StubServer, delta, sse

pytest.importorskip("bm25s", reason=reason("bm25s"))
pytest.importorskip("bs4", reason=reason("bs4"))


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BrowseHarness:
    """The registered harness, with its index cache in tmp and no judge from the host's environment."""
    for var in ("COMEM_SEARCH", "COMEM_JUDGE_URL", "COMEM_JUDGE_MODEL", "COMEM_WEB_FETCH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(HARNESS, "settings", BrowseSettings(index_cache_dir=tmp_path / "bm25"))
    monkeypatch.setattr(HARNESS, "judge_llm", None)
    return HARNESS


def _write(path: Path, *lines: Any) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_the_mini_suite_loads_by_name_with_its_corpus() -> None:
    tasks = load_browsecomp("browsecomp-mini")
    assert len(tasks) == 12 and [t.instance_id for t in tasks[:2]] == ["mini-01", "mini-02"]
    assert all(t.corpus == mini_suite_dir() / "corpus" and t.question and t.ground_truth for t in tasks)
    assert [t.instance_id for t in load_browsecomp(ids=["mini-07", "mini-03", "mini-07"])] == ["mini-07", "mini-03"]


def test_the_original_jsonl_format_loads(tmp_path: Path) -> None:
    path = _write(tmp_path / "standardized_data.jsonl",
                  {"task_id": "17", "task_question": " What year? ", "ground_truth": "9.1", "extra": 1},
                  "",
                  {"task_id": 42, "task_question": "How many?", "ground_truth": 1263})
    tasks = load_browsecomp(path)
    assert tasks == [BrowseTask(instance_id="17", question="What year?", ground_truth="9.1"),
                     BrowseTask(instance_id="42", question="How many?", ground_truth="1263")]
    (tmp_path / "corpus").mkdir()
    assert load_browsecomp(path)[0].corpus == (tmp_path / "corpus").resolve()
    assert load_browsecomp(path, corpus=tmp_path)[0].corpus == tmp_path.resolve()


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        ("{not json", r"not valid JSON \(Expecting property name"),
        ('["a", "b"]', "expected a JSON object, got list"),
        ({"task_id": "2", "ground_truth": "x"}, "field 'task_question' is missing"),
        ({"task_id": "2", "task_question": "Q?", "ground_truth": "  "}, "field 'ground_truth' must be a non-empty"),
        ({"task_id": "2", "task_question": "Q?", "ground_truth": ["x"]}, "field 'ground_truth' must be a non-empty"),
        ({"task_id": True, "task_question": "Q?", "ground_truth": "x"}, "field 'task_id' must be a non-empty"),
        ({"task_id": "1", "task_question": "Q?", "ground_truth": "x"}, "duplicate task_id '1'"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path: Path, second_line: Any, message: str) -> None:
    path = _write(tmp_path / "q.jsonl", {"task_id": "1", "task_question": "Q?", "ground_truth": "x"}, second_line)
    with pytest.raises(ComemError, match=message) as error:
        load_browsecomp(path)
    assert str(error.value).startswith(f"{path}:2: ") and error.value.fix


def test_missing_empty_and_unknown_inputs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ComemError, match="does not exist"):
        load_browsecomp(tmp_path / "nope.jsonl")
    with pytest.raises(ComemError, match="contains no questions"):
        load_browsecomp(_write(tmp_path / "empty.jsonl", ""))
    with pytest.raises(ComemError, match=r"Unknown task id\(s\) 'mini-99'"):
        load_browsecomp(ids=["mini-99"])
    (tmp_path / "latin.jsonl").write_bytes(b'{"task_id": "1", "task_question": "caf\xe9"}\n')
    with pytest.raises(ComemError, match="Cannot read"):
        load_browsecomp(tmp_path / "latin.jsonl")


def test_the_browsecomp_task_source_prefix(tmp_path: Path) -> None:
    from comem.tasks.sources import load_source

    assert [t.instance_id for t in load_source("browsecomp:mini")][:1] == ["mini-01"]
    path = _write(tmp_path / "b.jsonl", {"task_id": "1", "task_question": "Q?", "ground_truth": "x"})
    assert load_source(f"browsecomp:{path}")[0].corpus is None
    assert load_source(f"browsecomp:{path}?corpus={tmp_path}")[0].corpus == tmp_path.resolve()
    with pytest.raises(ComemError, match="Bad browsecomp task source"):
        load_source(f"browsecomp:{path}?index=x")


def test_combined_questions_ask_every_set_once_and_expect_every_answer_in_order(tmp_path: Path) -> None:
    from comem.tasks.sources import load_source

    pairs = load_source("browsecomp:mini?combine=2")
    assert len(pairs) == 66 and len({t.instance_id for t in pairs}) == 66  # 12 choose 2
    first = pairs[0]
    assert first.instance_id == "mini-01+mini-02" and first.ground_truth == "Quince | 1903"
    one, two = load_browsecomp(ids=["mini-01", "mini-02"])
    assert f"1. {one.question}" in first.question and f"2. {two.question}" in first.question
    assert "both answers in one submit_answer call" in first.question
    assert first.corpus == one.corpus
    assert len(load_source("browsecomp:mini?combine=3")) == 220 and load_source("browsecomp:mini?combine=1") == \
        load_browsecomp()
    for bad in ("combine=0", "combine=two", "combine=-1"):
        with pytest.raises(ComemError, match="Bad browsecomp task source"):
            load_source(f"browsecomp:mini?{bad}")
    with pytest.raises(ComemError, match="Cannot ask 13 of 12 questions together"):
        load_source("browsecomp:mini?combine=13")


def test_example_queries_use_the_question_s_names() -> None:
    assert example_query("The engineer who designed the Marrowford Swing Bridge also built a tram.") == \
        "Marrowford Swing Bridge"
    assert example_query("what is the tallest tree in the world today?") == "what is the tallest tree in"


def test_the_harness_opens_bm25_over_the_corpus_and_pins_the_browse_prompts(harness: BrowseHarness) -> None:
    task = load_browsecomp(ids=["mini-02"])[0]
    assert harness_for(task) is HARNESS
    env = harness.open(task, bash_timeout_s=30)
    assert isinstance(env, BrowserEnv) and env.corpus is not None and not env.web_fetch
    pinned = harness.pinned(task, env)
    assert "searching the document collection" in pinned.system
    assert "- search(q: string, num?: integer): Search the document collection." in pinned.system
    assert '{"name": "search", "arguments": {"q": "Marrowford Swing Bridge"}}' in pinned.system
    assert f"<question>\n{task.question}\n</question>" in pinned.task and task.ground_truth not in pinned.task
    assert not re.search(r"\{(tools|where|example_query|question)\}", pinned.system + pinned.task)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMEM_SEARCH", "serper")
    monkeypatch.setenv("COMEM_WEB_FETCH", "0")
    monkeypatch.setenv("COMEM_JUDGE_URL", "http://127.0.0.1:9/v1")
    settings = BrowseSettings.from_env()
    assert (settings.search, settings.web_fetch, settings.judge.url, settings.judge.model) == (  # type: ignore[union-attr]
        "serper", False, "http://127.0.0.1:9/v1", "gpt-4.1")
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    with pytest.raises(ComemError, match="SERPER_API_KEY is not set"):
        BrowseHarness().open(load_browsecomp(ids=["mini-01"])[0], bash_timeout_s=30)
    monkeypatch.setenv("COMEM_SEARCH", "duckduckgo")
    with pytest.raises(ComemError, match="COMEM_SEARCH='duckduckgo' is not a search backend"):
        BrowseSettings.from_env()


def _grade(harness: BrowseHarness, task: BrowseTask, answer: str | None) -> Any:
    env = harness.open(task, bash_timeout_s=30)
    env.answer = answer  # type: ignore[attr-defined]
    return asyncio.run(harness.grade(task, env, Outcome("submitted")))


def test_grading_without_an_answer_or_a_judge(harness: BrowseHarness) -> None:
    task = load_browsecomp(ids=["mini-07"])[0]
    assert _grade(harness, task, None).resolved is False
    exact = _grade(harness, task, "sorrel herder")
    assert exact.resolved is True and exact.detail["method"] == "match" and exact.detail["answer"] == "sorrel herder"
    other = _grade(harness, task, "a Sorrel Herder dog")
    assert other.resolved is False and other.detail["method"] == "none" and "COMEM_JUDGE_URL" in other.detail[
        "reasoning"]


def test_a_judge_set_by_the_runner_decides_semantic_matches(harness: BrowseHarness,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    judge = ScriptedLLM(['{"extracted_final_answer": "Sorrel Herder", "reasoning": "Same breed.", '
                         '"correct": "yes", "confidence": 100}'])
    monkeypatch.setattr(harness, "judge_llm", judge)
    verdict = _grade(harness, load_browsecomp(ids=["mini-07"])[0], "a Sorrel Herder dog")
    assert verdict.resolved is True and verdict.detail["reasoning"] == "Same breed." and len(judge.requests) == 1
    assert "[reference answer]: Sorrel Herder" in judge.requests[0][0].content


def test_a_judge_url_from_the_environment_is_used(harness: BrowseHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    reply = '{"extracted_final_answer": "apple", "reasoning": "Different fruit.", "correct": "no", "confidence": 80}'
    server = StubServer([Reply(body=b'{"data": []}', content_type="application/json"),  # GET /models
                         Reply(body=sse(delta(reply), delta(finish="stop")))])
    try:
        monkeypatch.setattr(harness, "settings", None)
        monkeypatch.setenv("COMEM_JUDGE_URL", server.url)
        monkeypatch.setenv("COMEM_JUDGE_MODEL", "grader")
        verdict = _grade(harness, load_browsecomp(ids=["mini-01"])[0], "apple")
    finally:
        server.close()
    assert verdict.resolved is False and verdict.detail["reasoning"] == "Different fruit."
    assert [r["path"] for r in server.requests] == ["/v1/models", "/v1/chat/completions"]
    assert server.requests[1]["json"]["model"] == "grader"


def _last_observation(messages: list[Message]) -> str:
    return messages[-1].content


def _first_link(messages: list[Message]) -> str:
    body = _last_observation(messages).split("\n", 1)[1]
    return json.loads(body)[0]["link"]


def test_a_scripted_agent_solves_a_mini_question_end_to_end(harness: BrowseHarness, tmp_path: Path) -> None:
    """search -> fetch the top result -> search for what the page said -> fetch -> submit what that page names."""

    def call(name: str, **arguments: str) -> str:
        return f"Next: {name}.\n" + json.dumps({"name": name, "arguments": arguments})

    def search_found_valley(messages: list[Message]) -> str:
        valley = re.search(r"in the (\w+ Valley)", _last_observation(messages))
        assert valley, _last_observation(messages)
        return call("search", q=f"{valley.group(1)} dog breed", num="3")

    def submit_breed(messages: list[Message]) -> str:
        title = re.search(r"^Title: (.+?) \(dog breed\)$", _last_observation(messages), re.MULTILINE)
        assert title, _last_observation(messages)
        return call("submit_answer", answer=title.group(1))

    agent = ScriptedLLM([
        call("search", q="Blue Wick cheese valley"),
        lambda messages: call("fetch", url=_first_link(messages)),
        search_found_valley,
        lambda messages: call("fetch", url=_first_link(messages)),
        submit_breed,
    ])
    task = load_browsecomp(ids=["mini-07"])[0]
    path = tmp_path / "trajectories" / "mini-07.jsonl"
    end = asyncio.run(run_episode(task, parse_arm("full"), agent, None, AgentConfig(max_steps=8), path))
    assert (end.exit_reason, end.steps, end.resolved, end.patch) == ("submitted", 5, True, "Sorrel Herder")
    assert end.grade_detail["method"] == "match" and end.grade_detail["ground_truth"] == task.ground_truth
    records = read_records(path)
    start = records[0]
    assert isinstance(start, EpisodeStart) and task.question in start.task_prompt
    steps = [r for r in records if isinstance(r, Step)]
    assert [s.action.name for s in steps if s.action] == ["search", "fetch", "search", "fetch", "submit_answer"]
    assert steps[1].action.arguments == {"url": "https://food.orrin.example/cheese/blue-wick"}  # type: ignore[union-attr]
    assert "Sorrel Valley" in steps[1].observation
