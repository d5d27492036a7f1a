"""The ledger (docs/method.md §3.1): extracted from real tool runs, bounded, and shown by every memory strategy
with each step exactly once (in the ledger or raw)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from comem.context.base import estimate_tokens
from comem.context.ledger import extract, ledger_text, render
from comem.core.records import Step, ToolCall
from comem.environment.workspace import Workspace
from comem.llm.scripted import ScriptedLLM
from tests.context.helpers import build, drive, raw_steps, summarised_steps

TASK = "Fix `parse_price` in shop/price.py: `tests/test_price.py::test_cents` fails on '1.50'."
SOURCE = 'def parse_price(text):\n    """Price in cents."""\n    return int(float(text))\n'
TESTS = "from shop.price import parse_price\n\n\ndef test_cents():\n    assert parse_price('1.50') == 150\n"


def run_steps(tmp_path: Path, calls: list[ToolCall | None]) -> list[Step]:
    """Steps as the agent loop records them: each call run by the real tools in a real workspace."""
    repo = tmp_path / "shop-repo"
    (repo / "shop").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "shop" / "__init__.py").write_text("")
    (repo / "shop" / "price.py").write_text(SOURCE)
    (repo / "tests" / "test_price.py").write_text(TESTS)
    steps = []
    with Workspace.create(repo, bash_timeout_s=60) as workspace:
        for i, call in enumerate(calls):
            obs = asyncio.run(workspace.execute(call)).output if call else "Your last message had no tool call."
            steps.append(Step(index=i, thought=f"step {i}: check `parse_price`", response=f"reply-{i}", action=call,
                              observation=obs))
    return steps


def editor(**arguments: object) -> ToolCall:
    return ToolCall(name="file_editor", arguments=arguments)


def bash(command: str) -> ToolCall:
    return ToolCall(name="bash", arguments={"command": command})


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> list[Step]:
    return run_steps(tmp_path_factory.mktemp("ledger"), [
        editor(command="view", path="shop/price.py"),  # 1: whole file, lines 1-3
        bash("python -m pytest -q tests"),  # 2: fails
        editor(command="str_replace", path="shop/price.py", old_str="int(text)", new_str="x"),  # 3: not found
        editor(command="str_replace", path="shop/price.py", old_str="    return int(float(text))",
               new_str="    return round(float(text) * 100)"),  # 4: edits line 3
        editor(command="insert", path="shop/price.py", insert_line=0, new_str="import math\nimport os"),  # 5
        editor(command="undo_edit", path="shop/price.py"),  # 6: undoes step 5
        ToolCall(name="search", arguments={"search_term": "parse_price", "path": "tests"}),  # 7
        None,  # 8: a reply without a tool call
        editor(command="view", path="tests/test_price.py", view_range=[4, 5]),  # 9
        bash("python -m pytest -q tests"),  # 10: passes
    ])


def test_a_search_answered_by_its_last_part_is_not_credited_with_those_hits(tmp_path: Path) -> None:
    """`search` answers a qualified name it cannot find with its last part's hits (environment/search.py): the
    ledger says the term itself matched nothing, and whose the hits are."""
    steps = run_steps(tmp_path, [ToolCall(name="search", arguments={"search_term": "price.parse_price",
                                                                    "path": "tests"})])
    assert "last part instead" in steps[0].observation
    ledger = extract(steps)
    assert ledger.commands["search 'price.parse_price' in tests"].detail == [
        "step 1", "0 matches; 2 matches for 'parse_price'"]
    assert "tests/test_price.py" in ledger.files


def test_extracts_files_commands_errors_edits_and_names(episode: list[Step]) -> None:
    ledger = extract(episode, TASK)
    assert ledger.files["shop/price.py"].detail == ["viewed 1-3", "edited 3", "edited 1-2", "edit undone"]
    assert ledger.files["tests/test_price.py"].detail == ["viewed 2-5"]  # widened to what was shown
    assert ledger.files["tests/test_price.py"].refs == 3  # pytest's failure location, the search hits, the view
    pytest_run = ledger.commands["python -m pytest -q tests"]
    assert pytest_run.refs == 2 and pytest_run.detail == ["step 10", "exit 0 (1 passed)"]  # the latest outcome
    assert ledger.commands["search 'parse_price' in tests"].detail == ["step 7", "2 matches"]
    assert "FAILED tests/test_price.py::test_cents" in ledger.errors
    assert any(e.startswith("AssertionError") for e in ledger.errors)
    assert any(e.startswith("No replacement was performed") for e in ledger.errors)
    assert "no valid tool call in the reply" in ledger.errors
    assert [e.detail for e in ledger.edits.values()] == [
        ["step 4: str_replace shop/price.py lines 3"],
        ["step 5: insert shop/price.py lines 1-2", "undone at step 6"],
    ]
    assert {"parse_price", "shop/price.py", "tests/test_price.py::test_cents"} <= set(ledger.names)


def test_a_rewrite_is_an_edit_of_the_lines_it_wrote(tmp_path: Path) -> None:
    rewrite = editor(command="rewrite", path="shop/price.py", definition="parse_price",
                     new_str="def parse_price(text):\n    return round(float(text) * 100)")
    steps = run_steps(tmp_path, [rewrite, rewrite])  # the first is refused (the file unseen): it shows the code
    ledger = extract(steps, TASK)
    assert ledger.files["shop/price.py"].detail == ["edited 1-2"]
    assert [e.detail for e in ledger.edits.values()] == [["step 2: rewrite shop/price.py lines 1-2"]]


def test_rendering_shows_what_the_agent_needs_and_is_deterministic(episode: list[Step]) -> None:
    text = ledger_text(episode, TASK, 1000)
    assert text == ledger_text(episode, TASK, 1000)
    assert "- step 10: `python -m pytest -q tests` -> exit 0 (1 passed) (run 2 times)" in text
    assert "- shop/price.py: viewed 1-3, edited 3, edited 1-2, edit undone" in text
    assert "- FAILED tests/test_price.py::test_cents (step 2)" in text
    assert "- step 5: insert shop/price.py lines 1-2, undone at step 6" in text
    assert text.index("files:") < text.index("edits:") < text.index("commands:") < text.index("errors:")


def test_budget_keeps_the_most_recent_of_every_section() -> None:
    steps = [Step(index=i, thought="", response="", action=bash(f"python check_{i}.py"),
                  observation=f"Exit code: {i % 2}\nExecution output of [bash]:\nValueError: bad value {i}")
             for i in range(60)]
    ledger = extract(steps)
    full = render(ledger, 100_000)
    assert "check_0.py" in full and "bad value 0" in full
    for budget in (40, 120, 400):
        text = render(ledger, budget)
        assert estimate_tokens(text) <= budget
        assert "`python check_59.py` -> exit 1" in text and "ValueError: bad value 59" in text  # newest first
        assert "check_59.py" in text.split("files:")[1]  # every section gets its turn
    assert "check_0.py" not in render(ledger, 400)


# --- the memory strategies with the ledger (scripted memory model) ---------------------------------------------


def ledger_steps(text: str) -> list[int]:
    """Steps a ledger stands for: its commands are `echo i` (tests/context/helpers.make_step)."""
    block = re.search(r"<ledger steps=\"1-(\d+)\">\n(.*?)\n</ledger>", text, re.DOTALL)
    return sorted(int(i) for i in re.findall(r"`echo (\d+)`", block.group(2))) if block else []


@pytest.mark.parametrize("name", ["kso", "sync"])
def test_ledger_alone_needs_no_memory_model_and_never_waits(name: str) -> None:
    strategy, records = build(name, None, k=2, memory_view="ledger", ledger_tokens=4000)
    assert not strategy.config.needs_memory()
    seen = drive(strategy, 10)
    installed = [r for r in records if r.status == "ok"]  # (kso's last one is still uninstalled at the end)
    assert installed and all(r.latency_s == 0.0 and r.summary == "" and r.ledger for r in installed)
    assert all(r.status in ("ok", "superseded") for r in records)
    for n, ctx in enumerate(seen):
        task = ctx.messages[1].content
        assert ctx.memory_wait_s == 0.0 and "<memory_summary" not in task
        covered = ledger_steps(task)
        assert sorted(covered + raw_steps(ctx)) == list(range(n))  # each step once, in the ledger or raw
        assert covered == list(range(ctx.raw_from))


def test_kso_ledger_keeps_the_summary_arms_schedule(memory: ScriptedLLM) -> None:
    # the same launches and raw windows as a summary arm: only the memory model's latency (here: none) differs
    summary_seen = drive(build("kso", memory, k=3)[0], 12)
    ledger_strategy, ledger_records = build("kso", None, k=3, memory_view="ledger")
    ledger_seen = drive(ledger_strategy, 12)
    assert [c.raw_from for c in ledger_seen] == [c.raw_from for c in summary_seen]
    assert [r.launch_step for r in ledger_records] == [2, 5, 8, 11]


@pytest.mark.parametrize("name", ["kso", "sync"])
def test_both_shows_summary_and_ledger_of_the_same_steps(name: str, memory: ScriptedLLM) -> None:
    strategy, records = build(name, memory, k=2, memory_view="both", ledger_tokens=4000)
    seen = drive(strategy, 10)
    assert records and all(r.summary and r.ledger for r in records if r.status == "ok")
    for n, ctx in enumerate(seen):
        if ctx.summary_id is None:
            continue
        task = ctx.messages[1].content
        assert task.index("<memory_summary") < task.index("<ledger")
        assert ledger_steps(task) == summarised_steps(ctx) == list(range(ctx.raw_from))
        assert sorted(ledger_steps(task) + raw_steps(ctx)) == list(range(n))


def test_a_summary_view_without_memory_model_is_a_clear_error() -> None:
    from comem.core.errors import ComemError

    with pytest.raises(ComemError, match="memory_view: ledger"):
        build("kso", None, k=2, memory_view="both")


def test_research_steps_are_searches_and_pages_found_and_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A browser's search and fetch (real outputs over the mini corpus): the queries, the top results' links with
    their titles, and the pages read; never read as a code search."""
    pytest.importorskip("bm25s", reason="the browse corpus index needs bm25s (the eval extra)")
    from comem.environment.browse.browser import open_browser
    from comem.tasks.browsecomp import mini_suite_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = open_browser(search="bm25", corpus=mini_suite_dir() / "corpus")
    calls = [ToolCall(name="search", arguments={"q": "The Salt Ledger novel"}),
             ToolCall(name="fetch", arguments={"url": "https://books.orrin.example/the-salt-ledger"}),
             ToolCall(name="fetch", arguments={"url": "https://nowhere.example/x"})]
    steps = [Step(index=i, thought="t", response="r", action=call,
                  observation=asyncio.run(env.execute(call)).output) for i, call in enumerate(calls)]
    text = ledger_text(steps, "", 400)
    assert "- step 1: `search 'The Salt Ledger novel'` -> 3 results" in text
    assert '- https://books.orrin.example/the-salt-ledger "The Salt Ledger (novel)": found at step 1, read at step 2' \
        in text
    assert "nowhere.example" not in text.split("errors:")[0]  # a failed fetch read no page; it is an error
    assert "There is no page at https://nowhere.example/x" in text and " in ." not in text


def test_a_page_says_the_sentence_that_answers_the_search_which_led_to_it(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Research memory loses the facts read in pages (the answer a next search names); each page line carries the
    sentence that best answers the latest search that found it: the snippet's until the page is read, then the
    page's. Words of the page's title do not count, since every sentence of the page is about its subject."""
    pytest.importorskip("bm25s", reason="the browse corpus index needs bm25s (the eval extra)")
    from comem.environment.browse.browser import open_browser
    from comem.tasks.browsecomp import mini_suite_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = open_browser(search="bm25", corpus=mini_suite_dir() / "corpus")
    calls = [ToolCall(name="search", arguments={"q": "Harlow Cup rowing trophy donated"}),
             ToolCall(name="search", arguments={"q": "Silas Harlow shipping company founded"})]
    steps = [Step(index=i, thought="t", response="r", action=call,
                  observation=asyncio.run(env.execute(call)).output) for i, call in enumerate(calls)]
    page = "wiki.orrin.example/Silas_Harlow"
    found = next(line for line in ledger_text(steps, "", 2000).splitlines() if page in line)
    assert found.endswith(" - says: He founded the Harlow Blue Star Line in 1864, which ran passenger steamers "
                          "between the Orrin Coast ports.")  # not the lead: "Silas Harlow (1838–1911) was ..."

    read = ToolCall(name="fetch", arguments={"url": "https://wiki.orrin.example/Silas_Harlow"})
    steps.append(Step(index=2, thought="t", response="r", action=read,
                      observation=asyncio.run(env.execute(read)).output))
    line = next(line for line in ledger_text(steps, "", 2000).splitlines() if page in line)
    assert "read at step 3 - says: He founded the Harlow Blue Star Line in 1864" in line
    assert "Blue Star" not in ledger_text(steps[:1], "", 2000)  # the first search's snippet answered another query


def test_a_page_in_any_script_says_the_sentence_that_answers_the_search(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Words are letters of any script, case-folded: a Cyrillic page found and read by a Cyrillic search says its
    answering sentence, not its lead (nor nothing, as when only ASCII letters made words)."""
    pytest.importorskip("bm25s", reason="the browse corpus index needs bm25s (the eval extra)")
    from comem.environment.browse.browser import open_browser

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harlow.md").write_text(
        "---\ntitle: Силас Харлоу\nurl: https://ru.orrin.example/harlow\n---\n# Силас Харлоу\n\n"
        "Силас Харлоу (1838–1911) был судовладельцем с побережья Оррин. Он ОСНОВАЛ пароходную КОМПАНИЮ "
        "«Голубая звезда» в 1864 году. Его дом стоит на набережной.\n", encoding="utf-8")
    (corpus / "quay.md").write_text("---\ntitle: Набережная\nurl: https://ru.orrin.example/quay\n---\n"
                                    "Набережная Оррина построена в 1850 году.\n", encoding="utf-8")
    env = open_browser(search="bm25", corpus=corpus)
    calls = [ToolCall(name="search", arguments={"q": "Силас Харлоу основал компанию"}),
             ToolCall(name="fetch", arguments={"url": "https://ru.orrin.example/harlow"})]
    steps = [Step(index=i, thought="t", response="r", action=call,
                  observation=asyncio.run(env.execute(call)).output) for i, call in enumerate(calls)]
    line = next(line for line in ledger_text(steps, "", 2000).splitlines() if "ru.orrin.example/harlow" in line)
    assert line.endswith("read at step 2 - says: Он ОСНОВАЛ пароходную КОМПАНИЮ «Голубая звезда» в 1864 году.")
