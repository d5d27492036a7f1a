"""What the viewer's pages say about a step."""

from __future__ import annotations

from comem.core.records import Step, ToolCall
from comem.view.pages import action_text


def step(response: str, action: ToolCall | None = None) -> Step:
    return Step(index=0, thought="", response=response, action=action, observation="")


def test_a_text_action_agents_command_is_shown_not_called_missing() -> None:
    """mini-swe-agent answers in a ```bash block; through the gateway that reply has no tool call."""
    reply = "THOUGHT: look first.\n\n```bash\nls -la\n```\n\nthen\n\n```bash\ncat setup.py | head\n```"
    assert action_text(step(reply)) == "(text action) cat setup.py | head"
    assert action_text(step("I am done.")) == "(no action: the reply had no tool call)"
    call = ToolCall(name="bash", arguments={"command": "ls"})
    assert "ls" in action_text(step(reply, call)) and "text action" not in action_text(step(reply, call))
