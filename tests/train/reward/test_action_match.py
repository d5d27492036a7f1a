"""Action consistency (docs/method.md §7): golden pairs per key type and edge, and hypothesis properties.

Expected values are worked out by hand in the comments; r(a, b) = difflib.SequenceMatcher(None, a, b).ratio()
= 2·matches / (len a + len b). Reward = 10·(0.4·name_match + 0.6·param), capped at 3.5 for a wrong name.
"""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comem.core.actions import to_xml
from comem.core.records import ToolCall
from comem.train.reward.action_match import action_consistency, parse_xml_action, score_actions


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


def reward_for(param: float, name_match: bool = True) -> float:
    score01 = 0.4 * name_match + 0.6 * param
    return 10 * (score01 if name_match else min(score01, 0.35))


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-9)


# --- empty, missing and unparsable actions ---------------------------------------------------------------


@pytest.mark.parametrize(("pred", "ref"), [
    (None, call("bash", command="ls")),
    (call("bash", command="ls"), None),
    (None, None),
    (call("   "), call("submit")),
    (call("submit"), call("")),
    (parse_xml_action("I think I should look around first."), call("bash", command="ls")),
    (parse_xml_action("<function=bash><parameter=command>ls</parameter>"), call("bash", command="ls")),
])
def test_missing_or_empty_actions_score_zero(pred: ToolCall | None, ref: ToolCall | None) -> None:
    detail = score_actions(pred, ref)
    assert detail.reward == 0.0 and not detail.name_match
    assert action_consistency(pred, ref, "browsecomp") == 0.0


def test_same_tool_without_arguments_is_ten() -> None:
    # no keys at all -> param_score 1 -> 10·(0.4 + 0.6)
    assert action_consistency(call("submit"), call(" Submit ")) == 10.0


# --- the tool name -------------------------------------------------------------------------------------


def test_wrong_tool_is_capped_at_three_and_a_half() -> None:
    # no keys -> param 1 -> 0.6, capped at 0.35
    detail = score_actions(call("submit"), call("finish"))
    assert detail.reward == approx(3.5) and not detail.name_match and detail.param_score == 1.0


def test_wrong_tool_with_disjoint_arguments() -> None:
    # keys command (1.2; "" vs "view" -> 0.2), path (1.0; "" vs "a.py" -> 0), search_term (0.9; one side empty -> 0)
    # param = 1.2·0.2 / 3.1 = 0.0774194; score01 = 0.6·param = 0.0464516 (under the cap)
    pred, ref = call("search", search_term="foo"), call("file_editor", command="view", path="a.py")
    assert action_consistency(pred, ref) == approx(10 * 0.6 * (0.24 / 3.1))


# --- SWE keys --------------------------------------------------------------------------------------------


def test_file_editor_command_is_exact_after_strip_and_lower() -> None:
    assert action_consistency(call("file_editor", command=" View ", path="src/a.py"),
                              call("file_editor", command="view", path="src/a.py")) == 10.0
    # command 0.2 (weight 1.2), path 1 (weight 1.0): param = 1.24 / 2.2
    assert action_consistency(call("file_editor", command="create", path="src/a.py"),
                              call("file_editor", command="view", path="src/a.py")) == approx(reward_for(1.24 / 2.2))


def test_file_editor_command_is_not_a_shell_command() -> None:
    # file_editor.command keeps the exact rule even when it looks like a command line: 0.2 -> 10·(0.4 + 0.12)
    assert action_consistency(call("file_editor", command="python3 a.py"),
                              call("file_editor", command="python a.py")) == approx(5.2)


def test_bash_command_uses_cmd_sim_with_aliases_and_paths() -> None:
    # tokens: [python3, -m, pytest, tests/test_a.py] vs [python, -m, pytest, tests/test_b.py]
    # program: python3 -> python == python: 1; args Jaccard {-m, pytest, a} vs {-m, pytest, b} = 2/4 = 0.5
    # first path-like args: tests/test_a.py vs tests/test_b.py: common prefix "tests/test_" 11/15,
    #   parts {tests, test_a.py} vs {tests, test_b.py} = 1/3 -> 0.7·11/15 + 0.3/3 = 0.6133333
    # args = 0.5·0.5 + 0.5·0.6133333 = 0.5566667; cmd = 0.4 + 0.6·0.5566667 = 0.734
    pred = call("bash", command="python3 -m pytest tests/test_a.py")
    ref = call("bash", command="python -m pytest tests/test_b.py")
    assert score_actions(pred, ref).per_key == {"command": approx(0.734)}
    assert action_consistency(pred, ref) == approx(reward_for(0.734))


@pytest.mark.parametrize(("pred", "ref", "sim"), [
    ("pip3 install numpy", "pip install numpy", 1.0),  # aliased program, equal args
    ("python2 setup.py", "PYTHON setup.py", 1.0),  # the program is compared lower-cased
    ("ls", "cat", 0.6),  # different program, both without args -> args 1
    ("cat a.txt", "cat", 0.4),  # one side without args -> args 0
    ("grep -n foo", "grep -n bar", 0.4 + 0.6 * (1 / 3)),  # {-n, foo} vs {-n, bar}; no path-like args
    ("  ", "ls", 0.0),
])
def test_cmd_sim_cases(pred: str, ref: str, sim: float) -> None:
    # the R2E-Gym key `cmd` (any tool) and our bash `command` share the rule (weight 1.0 either way)
    assert score_actions(call("execute_bash", cmd=pred), call("execute_bash", cmd=ref)).per_key["cmd"] == approx(sim)
    assert score_actions(call("bash", command=pred), call("bash", command=ref)).per_key["command"] == approx(sim)


def test_path_sim() -> None:
    # "/testbed/src/a.py" vs "/testbed/src/b.py": prefix 13/17, parts {testbed, src, a.py} vs {.., b.py} = 2/4
    # path = 0.7·13/17 + 0.3·0.5 = 0.6852941; param = (1.2·1 + 1.0·0.6852941) / 2.2
    pred = call("file_editor", command="view", path="/testbed/src/a.py")
    ref = call("file_editor", command="view", path="/testbed/src/b.py")
    path = 0.7 * 13 / 17 + 0.15
    assert score_actions(pred, ref).per_key["path"] == approx(path)
    assert action_consistency(pred, ref) == approx(reward_for((1.2 + path) / 2.2))
    # no common prefix and "/" has no components (Jaccard 0 when either side has none)
    assert score_actions(call("search", path="/"), call("search", path="a")).per_key["path"] == 0.0


def test_string_sim_view_range_and_json_values() -> None:
    # "[1, 50]" vs "[1, 60]": matches "[1, " + "0]" = 6 of 14 chars -> r = 12/14; weights 1.2, 1.0, 0.6
    pred = call("file_editor", command="view", path="a.py", view_range=[1, 50])
    ref = call("file_editor", command="view", path="a.py", view_range="[1, 60]")
    assert action_consistency(pred, ref) == approx(reward_for((2.2 + 0.6 * 12 / 14) / 2.8))
    # a JSON list goes through str(): [1, 50] -> "[1, 50]"
    assert action_consistency(pred, call("file_editor", command="view", path="a.py", view_range="[1, 50]")) == 10.0


@pytest.mark.parametrize(("pred", "ref", "sim"), [
    ("true", "1", 1.0), (True, "yes", 1.0), ("No", "0", 1.0), ("yes", "false", 0.0), ("1", "0", 0.0),
])
def test_boolean_words_are_normalised_for_swe_only(pred: object, ref: object, sim: float) -> None:
    assert score_actions(call("t", concise=pred), call("t", concise=ref)).per_key["concise"] == sim
    # BrowseComp's string_sim has no boolean rule: r("true", "1") = 0, r("True"->"true", "yes") = 0, ...
    web = score_actions(call("t", flag=pred), call("t", flag=ref), "browsecomp").per_key["flag"]
    assert web == approx(SequenceMatcher(None, str(pred).lower(), str(ref).lower()).ratio())
    assert web < 1.0


def test_json_null_counts_as_missing() -> None:
    # the original turned null into "None"; now "" vs absent "" -> equal -> 1
    pred, ref = call("file_editor", command="view", path=None), call("file_editor", command="view")
    assert action_consistency(pred, ref) == 10.0


def test_keys_are_stripped_and_lowered_and_the_later_key_wins() -> None:
    ref = call("file_editor", command="view", path="b.py")
    assert action_consistency(call("file_editor", command="view", **{"Path": "a.py", " path ": "b.py"}), ref) == 10.0
    # the other order keeps "a.py": path_sim("a.py", "b.py") = 0 (no prefix, no shared part) -> param 1.2 / 2.2
    later_a = call("file_editor", **{"COMMAND": "view", " path ": "b.py", "Path": "a.py"})
    assert action_consistency(later_a, ref) == approx(reward_for(1.2 / 2.2))


def test_unknown_keys_weigh_point_seven() -> None:
    # insert_line: r("3", "30") = 2/3, weight 0.7; command equal (1.2), path equal (1.0)
    pred = call("file_editor", command="insert", path="a.py", insert_line=3, new_str="x")
    ref = call("file_editor", command="insert", path="a.py", insert_line=30, new_str="x")
    assert action_consistency(pred, ref) == approx(reward_for((1.2 + 1.0 + 0.7 * 2 / 3 + 0.9) / 3.8))


def test_code_sims_strict_and_lenient() -> None:
    # normalised alike; r = 20/22; tokens {x, =, 1, y, 2} vs {x, =, 1, y, 3} = 4/6; lines {x = 1, y = 2} vs .. = 1/3
    pred, ref = "x = 1\ny = 2", "x = 1\ny = 3"
    seq, tok, line = 20 / 22, 4 / 6, 1 / 3
    detail = score_actions(call("file_editor", old_str=pred, new_str=pred, file_text=pred),
                           call("file_editor", old_str=ref, new_str=ref, file_text=ref))
    assert detail.per_key["old_str"] == approx(0.7 * seq + 0.3 * tok)  # strict
    assert detail.per_key["new_str"] == approx(0.30 * seq + 0.45 * tok + 0.25 * line)  # lenient
    assert detail.per_key["file_text"] == detail.per_key["new_str"]
    lenient = 0.30 * seq + 0.45 * tok + 0.25 * line
    assert detail.reward == approx(reward_for((1.0 * (0.7 * seq + 0.3 * tok) + 0.9 * lenient + 0.8 * lenient) / 2.7))


def test_code_equal_after_normalising_lines_is_one() -> None:
    detail = score_actions(call("file_editor", old_str="  def f():\n\n      return 1  \n"),
                           call("file_editor", old_str="def f():\nreturn 1"))
    assert detail.per_key["old_str"] == 1.0
    assert score_actions(call("file_editor", old_str=""), call("file_editor", old_str="x")).per_key["old_str"] == 0.0


def test_long_code_is_cut_per_side() -> None:
    # one 6000-char line against a short one: only the long side becomes first 2500 + last 2500 chars.
    # (The original cut both sides when either was long, comparing against the short side doubled.)
    long = "a" * 3000 + "b" * 3000
    short = "a" * 60 + "b" * 40
    cut = long[:2500] + long[-2500:]
    seq = SequenceMatcher(None, cut, short).ratio()
    doubled = SequenceMatcher(None, cut, short + short).ratio()
    assert seq != pytest.approx(doubled)
    # tokens: one identifier each, different -> 0; one line each, different -> 0
    detail = score_actions(call("file_editor", old_str=long), call("file_editor", old_str=short))
    assert detail.per_key["old_str"] == approx(0.7 * seq)


def test_search_term() -> None:
    # words {def, parse_action} vs {parse_action} = 1/2; r("def parse_action", "parse_action") = 24/28
    sim = 0.6 * 0.5 + 0.4 * 24 / 28
    assert action_consistency(call("search", search_term="def parse_action"),
                              call("search", search_term="parse_action")) == approx(reward_for(sim))


# --- BrowseComp keys -------------------------------------------------------------------------------------


def test_query_sim_with_phrases() -> None:
    # words {"deep, learning", history} vs {history, of, "deep, learning"} = 3/4;
    # r = 2·15/49 (the 15-char '"deep learning"'); phrases {deep learning} on both sides -> 1
    sim = 0.5 * 0.75 + 0.3 * 30 / 49 + 0.2 * 1.0
    pred, ref = call("search", q='"Deep learning" history'), call("search", q='history of "deep learning"')
    assert action_consistency(pred, ref, "browsecomp") == approx(reward_for(sim))


def test_query_phrase_on_one_side_only_is_half() -> None:
    # words {"a, b"} vs {a, b} = 0/4; r('"a b"', "a b") = 6/8; one side quotes -> 0.5
    detail = score_actions(call("search", q='"a b"'), call("search", q="a b"), "browsecomp")
    assert detail.per_key["q"] == approx(0.3 * 6 / 8 + 0.2 * 0.5)


def test_small_search_keys_weigh_little() -> None:
    # q equal (1.0), num r("10", "20") = 0.5 (weight 0.1): param = 1.05 / 1.1
    pred, ref = call("search", q="x", num="10"), call("search", q="x", num=20)
    assert action_consistency(pred, ref, "browsecomp") == approx(reward_for(1.05 / 1.1))


@pytest.mark.parametrize(("pred", "ref", "sim"), [
    ("https://www.example.com/a/b/", "http://example.com/a/b", 1.0),  # same domain, same path
    ("example.com/a", "https://example.com/a", 1.0),  # a missing scheme means https://
    ("https://example.com/a/b?q=1", "https://example.com/a/c#x", 0.5 + 0.5 / 3),  # path {a,b} vs {a,c}
    ("https://a.com/x/y", "https://b.com/x/z", 0.15 / 3),
    ("https://web.archive.org/web/2020/x", "https://eb.archive.org/web/2020/x", 0.15),  # the lstrip fix
    ("https://www.www.x.com/p", "https://www.x.com/p", 0.15),  # exactly one www. is removed
    ("https://example.com", "https://example.com/a", 0.5),  # path: none vs one -> 0
    ("https://Example.com:8080/a", "example.com:8080/a", 1.0),  # domain lower-cased, port kept
    ("/", "", 1.0),  # "/" strips to "" and equals a missing url
])
def test_url_sim(pred: str, ref: str, sim: float) -> None:
    assert score_actions(call("fetch", url=pred), call("fetch", url=ref), "browsecomp").per_key["url"] == approx(sim)


@pytest.mark.parametrize(("pred", "ref", "sim"), [
    ("100", "100.5", 0.95),  # |diff| / max = 0.5 / 100.5 < 1%
    ("104", "100", 0.8),  # 4 / 104 = 3.8% < 5%
    ("1,234", "1234", 1.0),  # thousands separator
    ("$1,000,000", "1000000", 1.0),
    ("50%", "50", 1.0),
    ("-5", "5", 2 / 3),  # rel 2 -> r("-5", "5") = 2/3 (the original read both as 5)
    ("3.14", "314", 6 / 7),  # r("3.14", "314") = 6/7 (the original deleted the dot)
    ("5", "five", 0.0),  # one side not a number: normalised r("5", "five") = 0
    ("The Beatles!", "the beatles", 1.0),  # normalisation drops punctuation and case
    ("Paris, London", "london,paris", 1.0),  # comma lists compare sorted
    ("Paris, London, Rome", "Paris, Berlin", 0.5625),  # max(J = 1/4, r("london, paris, rome", "berlin, paris") = 18/32)
    ("Albert Einstein", "Einstein", 16 / 23),  # r("albert einstein", "einstein")
])
def test_answer_sim(pred: str, ref: str, sim: float) -> None:
    detail = score_actions(call("submit_answer", answer=pred), call("submit_answer", answer=ref), "browsecomp")
    assert detail.per_key["answer"] == approx(sim)
    assert detail.reward == approx(reward_for(sim))


def test_one_percent_answer_reward_exactly() -> None:
    # 0.95 -> 10·(0.4 + 0.6·0.95) = 9.7
    assert action_consistency(call("submit_answer", answer="100"), call("submit_answer", answer="100.5"),
                              "browsecomp") == approx(9.7)


def test_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="variant"):
        score_actions(call("a"), call("a"), "alfworld")  # type: ignore[arg-type]


# --- the reference XML parser --------------------------------------------------------------------------


def test_parse_xml_action_first_complete_block() -> None:
    text = (
        "Let me look.\n<function=file_editor >\n  <parameter=command>view</parameter>\n"
        "  <parameter= path > a.py \n</parameter>\n  <parameter=path>b.py</parameter>\n</function>\n"
        "<function=bash><parameter=command>ls</parameter></function>"
    )
    assert parse_xml_action(text) == ToolCall(name="file_editor", arguments={"command": "view", "path": "b.py"})
    assert parse_xml_action("<function= ><parameter=a>b</parameter></function>") is None
    stored = ToolCall(name="search", arguments={"search_term": "def f", "path": "src"})
    assert parse_xml_action(to_xml(stored)) == stored


# --- properties ------------------------------------------------------------------------------------------

KEYS = ["command", "cmd", "path", "old_str", "new_str", "file_text", "search_term", "view_range", "concise",
        "q", "url", "answer", "gl", "num", "tbs", "Other", " PATH"]
values = st.one_of(st.text(max_size=40), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=True),
                   st.lists(st.integers(), max_size=3),
                   st.sampled_from(["1,234", "$5", "50%", "a, b, c", "www.x.com/", "python3 a/b.py"]))
names = st.sampled_from(["bash", "file_editor", "search", "submit", "fetch", "submit_answer", " Bash ", "x"])
actions = st.builds(ToolCall, name=names, arguments=st.dictionaries(st.sampled_from(KEYS), values, max_size=5))
variants = st.sampled_from(["swe", "browsecomp"])


@settings(max_examples=300, deadline=None)
@given(actions, actions, variants)
def test_reward_is_between_zero_and_ten(pred: ToolCall, ref: ToolCall, variant: str) -> None:
    assert 0.0 <= action_consistency(pred, ref, variant) <= 10.0  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(actions, variants)
def test_identical_actions_score_ten(action: ToolCall, variant: str) -> None:
    assert action_consistency(action, action.model_copy(deep=True), variant) == approx(10.0)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(actions, actions, variants)
def test_another_tool_name_never_exceeds_three_and_a_half(pred: ToolCall, ref: ToolCall, variant: str) -> None:
    if pred.name.strip().lower() == ref.name.strip().lower():
        pred = pred.model_copy(update={"name": pred.name + "_other"})
    assert action_consistency(pred, ref, variant) <= 3.5 + 1e-12  # type: ignore[arg-type]
