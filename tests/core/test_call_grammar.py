"""The tool-call grammar's shape (that llama.cpp samples under it is tested with the real engine in
tests/llm/test_embedded.py)."""

from __future__ import annotations

import pytest

from comem.core.call_grammar import CallShape, shapes_from_specs, tool_call_grammar
from comem.environment.tools import build_tool_specs, call_shapes


def test_one_alternative_per_call_form_with_required_arguments_first() -> None:
    grammar = tool_call_grammar(call_shapes(build_tool_specs(60)))
    calls = [line for line in grammar.splitlines() if line.startswith("call") and " ::= " in line][1:]
    assert len(calls) == 3 + 6  # bash, search, submit and the six file_editor commands
    insert = next(line for line in calls if '"\\"insert\\""' in line)
    assert insert.index('"\\"path\\""') < insert.index('"\\"insert_line\\"" ws ":" ws integer') < insert.index(
        '"\\"new_str\\""')
    view = next(line for line in calls if '"\\"view\\""' in line)
    assert '("," ws "\\"view_range\\"" ws ":" ws "[" ws integer ws "," ws integer ws "]")?' in view
    assert grammar.startswith('root ::= [^{\\n] [^{\\n]{0,199} "\\n" call')


def test_leading_optional_arguments_may_all_be_left_out() -> None:
    grammar = tool_call_grammar([CallShape("find", {"q": {"type": "string"}, "n": {"type": "integer"}})])
    assert '("\\"q\\"" ws ":" ws string ("," ws "\\"n\\"" ws ":" ws integer)? "" | ("\\"n\\""' in grammar


def test_a_schema_without_a_grammar_is_refused() -> None:
    spec = build_tool_specs(60)[:1]
    spec[0]["function"]["parameters"]["properties"]["command"] = {"type": "object"}
    with pytest.raises(ValueError, match="no grammar"):
        tool_call_grammar(shapes_from_specs(spec))
    with pytest.raises(ValueError, match="no tools"):
        tool_call_grammar([])
