"""Tool-call parsing: the three accepted formats, format errors, and hypothesis: never raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comem.core.actions import argument_problem, parse_action, to_xml
from comem.core.records import Completion, Step, ToolCall

TOOLS = ("bash", "file_editor", "search", "submit")


def parse(text: str, **kw):
    return parse_action(Completion(text=text, **kw), TOOLS)


def test_native_tool_calls_win() -> None:
    call = ToolCall(name="bash", arguments={"command": "ls"}, id="call_1")
    parsed = parse("I will list files.", tool_calls=[call, ToolCall(name="submit")])
    assert parsed.call == call and parsed.thought == "I will list files."


def test_bare_json_after_a_thought() -> None:
    parsed = parse('Let me look.\n{"name": "bash", "arguments": {"command": "cat a.py"}}')
    assert parsed.call == ToolCall(name="bash", arguments={"command": "cat a.py"})
    assert parsed.thought == "Let me look."


def test_fenced_json_and_alternative_keys() -> None:
    parsed = parse('Thinking.\n```json\n{"tool": "search", "parameters": {"search_term": "def f"}}\n```')
    assert parsed.call == ToolCall(name="search", arguments={"search_term": "def f"})


def test_openai_function_shape_with_string_arguments() -> None:
    text = json.dumps({"function": {"name": "bash", "arguments": json.dumps({"command": "echo {x}"})}})
    assert parse(text).call == ToolCall(name="bash", arguments={"command": "echo {x}"})


def test_braces_inside_strings_do_not_confuse_matching() -> None:
    text = 'ok {"name": "bash", "arguments": {"command": "python -c \\"print({1: 2})\\""}} trailing }'
    assert parse(text).call.arguments["command"] == 'python -c "print({1: 2})"'


def test_json_that_names_no_tool_is_skipped() -> None:
    text = 'The config is {"a": 1}. Now {"name": "submit", "arguments": {}}'
    assert parse(text).call == ToolCall(name="submit")


def test_xml_format_and_round_trip() -> None:
    text = "<think>hmm</think>\n<function=file_editor>\n  <parameter=command>view</parameter>\n" \
           "  <parameter=path>src/a.py</parameter>\n</function>"
    parsed = parse(text)
    assert parsed.call == ToolCall(name="file_editor", arguments={"command": "view", "path": "src/a.py"})
    assert parsed.thought == "<think>hmm</think>"
    assert parse(to_xml(parsed.call)).call == parsed.call


def test_nothing_parsable_gives_a_format_error_naming_the_tools() -> None:
    for text in ["I think the bug is in utils.py.", "", '{"name": ', "<function=>x</function>"]:
        parsed = parse(text)
        assert parsed.call is None
        assert "bash, file_editor, search, submit" in parsed.error


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    parsed = parse(text)
    assert (parsed.call is None) == (parsed.error is not None)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids,
                                                                                     max_size=3), max_leaves=10)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TOOLS), st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=4),
       st.text(alphabet=st.characters(blacklist_characters="{}<`"), max_size=40))
def test_any_json_call_round_trips(name: str, args: dict, thought: str) -> None:
    parsed = parse(thought + "\n" + json.dumps({"name": name, "arguments": args}))
    problem = argument_problem(args)
    assert (parsed.call, parsed.error) == ((ToolCall(name=name, arguments=args), None) if problem is None else
                                           (None, problem))


UNUSABLE = {
    "surrogate": ({"new_str": "x\ud83d"}, "`new_str` holds an unpaired surrogate"),
    "NUL": ({"path": "a\0"}, "`path` holds a NUL byte"),
    "huge integer": ({"insert_line": 10**5000}, "`insert_line` is an integer of about 5000 digits"),
    "nesting": ({"view_range": [[[[[1]]]]]}, "`view_range[0][0][0][0]` is nested more than 4 levels"),
}


@pytest.mark.parametrize("args, error", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_native_calls_with_arguments_no_record_can_hold_are_refused(args: dict, error: str) -> None:
    """The step that records such a call could not be written (pydantic refuses surrogates and deep nesting), and
    str() of the integer raises; the model gets the reason instead."""
    parsed = parse("", tool_calls=[ToolCall(name="file_editor", arguments={"command": "view", **args})])
    assert parsed.call is None and error in parsed.error
    Step(index=0, thought=parsed.thought, response="", action=parsed.call, observation=parsed.error).model_dump_json()
