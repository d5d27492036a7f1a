"""eval-memory's results as written: results.json reads back as the same report, results.md holds the table
and a paired section only for the differences the report has."""

from __future__ import annotations

from pathlib import Path

from comem.train.eval_report import ConditionResult, EvalReport, PairedDifference, paired_tables, write_report


def report(paired_full: bool) -> EvalReport:
    rows = [ConditionResult(condition=c, n=2, mean_reward=m, ci_low=m - 1, ci_high=m + 1, name_match_rate=0.5,
                            no_action_rate=0.0, context_tokens=100.0) for c, m in (("none", 4.0), ("full", 7.5))]
    rows[0] = rows[0].model_copy(update={"of_full": 4.0 / 7.5, "of_full_ci": (0.4, 0.7)})
    diff = PairedDifference(first="full", second="none", n=2, mean=3.5, ci_low=1.0, ci_high=6.0, better=2, worse=0)
    return EvalReport(data="recs", records=2, settings={"resamples": 100}, results=rows, paired=[diff],
                      paired_full=[diff] if paired_full else [])


def test_results_json_reads_back_and_markdown_has_each_table(tmp_path: Path) -> None:
    written = report(paired_full=False)
    write_report(tmp_path, written)
    assert EvalReport.model_validate_json((tmp_path / "results.json").read_text()) == written
    markdown = (tmp_path / "results.md").read_text()
    assert "| full | 2 | 7.50 | 6.50-8.50 | 50% |" in markdown
    assert markdown.splitlines()[4].endswith("| - | 53% (40%-70%) |")  # none's share of full's reward
    assert markdown.splitlines()[5].endswith("| - | - |")  # full has no share of itself
    assert "| full - none | 2 | +3.50 | +1.00 to +6.00 | 2 / 0 |" in markdown
    assert "## Paired differences\n" in markdown and "## Paired differences in agreement" not in markdown
    assert "## Summaries" not in markdown  # no memory model, no summaries table


def test_paired_tables_only_those_with_rows() -> None:
    assert [title for title, _, _ in paired_tables(report(paired_full=False))] == ["Paired differences"]
    assert [title for title, _, _ in paired_tables(report(paired_full=True))] == [
        "Paired differences", "Paired differences in agreement with full"]
