"""`comem eval-memory`'s results: a row per condition, the paired differences, and how they are written
(`results.json`, `results.md`, the console's tables). Figures are computed in train/eval_memory.py; this module
only holds and renders them (docs/method.md §9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.table import Table

from comem.core.tables import markdown_table, rich_table


class ConditionResult(BaseModel):
    """One row of the results table."""

    condition: str
    n: int
    mean_reward: float | None
    ci_low: float | None
    ci_high: float | None
    name_match_rate: float | None
    no_action_rate: float | None
    context_tokens: float | None
    errors: int = 0
    needing: int = 0  # records whose next action needs a name only a summarised output held (train/data/needs.py)
    needed_kept: float | None = None  # of those names, the mean share the condition's context shows
    needed_kept_ci: tuple[float, float] | None = None  # its 95% bootstrap interval over those records
    agrees_full: float | None = None  # mean reward of its action against the agent's own under `full`
    agrees_full_ci: tuple[float, float] | None = None
    agrees_full_n: int = 0  # records scored so: both called, and the full-history call gave an action
    of_full: float | None = None  # its mean reward over full's, on the records both scored (how near the bound)
    of_full_ci: tuple[float, float] | None = None  # its 95% paired bootstrap interval over those records


class PairedDifference(BaseModel):
    """`first` minus `second`, record by record over the records both scored: the mean with a 95% percentile
    bootstrap over records (mean_ci of the differences), and on how many records `first` did better / worse."""

    first: str
    second: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    better: int
    worse: int


class SummaryStats(BaseModel):
    """What one memory model wrote: how long its summaries ran in its engine's tokens, how many reached the budget
    (cut off, the rest of what it meant to keep lost) and how many repeat a line (a small model's loop)."""

    label: str
    n: int
    median_tokens: float
    at_budget: int
    repeating: int


class EvalReport(BaseModel):
    data: str
    records: int
    settings: dict[str, Any]
    results: list[ConditionResult]
    paired: list[PairedDifference] = Field(default_factory=list)
    paired_full: list[PairedDifference] = Field(default_factory=list)  # the same, on agreement with `full`
    summaries: list[SummaryStats] = Field(default_factory=list)  # a row per memory model with summaries


PAIRED_HEADERS = ["difference", "n", "mean", "95% CI", "better / worse"]


def paired_rows(paired: list[PairedDifference]) -> list[list[str]]:
    return [[f"{d.first} - {d.second}", str(d.n), f"{d.mean:+.2f}", f"{d.ci_low:+.2f} to {d.ci_high:+.2f}",
             f"{d.better} / {d.worse}"] for d in paired]


HEADERS = ["condition", "n", "reward (0-10)", "95% CI", "tool-name match", "no action", "context tok", "errors",
           "needed names kept", "agrees with full (95% CI)", "share of full (95% CI)"]


def table_rows(results: list[ConditionResult]) -> list[list[str]]:
    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    return [[r.condition, str(r.n), num(r.mean_reward, ".2f"),
             "-" if r.ci_low is None else f"{r.ci_low:.2f}-{r.ci_high:.2f}", num(r.name_match_rate, ".0%"),
             num(r.no_action_rate, ".0%"), num(r.context_tokens, ".0f"), str(r.errors),
             "-" if r.needed_kept is None else f"{r.needed_kept:.0%} of {r.needing}" + (
                 f" ({r.needed_kept_ci[0]:.0%}-{r.needed_kept_ci[1]:.0%})" if r.needed_kept_ci else ""),
             "-" if r.agrees_full is None else f"{r.agrees_full:.2f} ({r.agrees_full_ci[0]:.2f}-"
                                               f"{r.agrees_full_ci[1]:.2f})",
             "-" if r.of_full is None else f"{r.of_full:.0%} ({r.of_full_ci[0]:.0%}-{r.of_full_ci[1]:.0%})"]
            for r in results]


def caption(report: EvalReport) -> str:
    return (f"Action consistency of the agent's next action with the recorded one on {report.records} held-out "
            f"records of {report.data}; 95% CI: percentile bootstrap over records "
            f"({report.settings['resamples']} resamples). Errors (failed calls) are retried on rerun, not scored. "
            "Needed names kept: over the records whose next action names something only a summarised output "
            "held, the mean share of those names the condition's context shows, with its 95% bootstrap interval "
            "over those records (no agent involved). Agrees with full: the same reward, of the condition's action "
            "against the agent's own action under the full history (the paper's reference), over the records "
            "where that action exists. Share of full: the condition's mean reward over full's on the records both "
            "scored, with its paired bootstrap interval over records.")


def to_table(report: EvalReport) -> Table:
    return rich_table("comem eval-memory", HEADERS, table_rows(report.results), caption(report))


SUMMARY_HEADERS = ["memory model", "summaries", "median tokens", "at the budget", "repeat a line"]


def summary_rows(stats: list[SummaryStats]) -> list[list[str]]:
    return [[s.label, str(s.n), f"{s.median_tokens:.0f}", str(s.at_budget), str(s.repeating)] for s in stats]


def summary_caption(report: EvalReport) -> str:
    return (f"What each memory model wrote, in its engine's tokens. At the budget: the summary reached "
            f"memory_max_tokens ({report.settings['memory_max_tokens']}) and was cut there. Repeat a line: the "
            "same non-empty line appears twice or more.")


PAIRED_CAPTION = ("Paired over the records both conditions scored: the mean difference in reward, its 95% "
                  "percentile bootstrap over records, and on how many records the first did better / worse.")
PAIRED_FULL_CAPTION = PAIRED_CAPTION.replace("in reward", "in agreement with the agent's own action under full")


def paired_tables(report: EvalReport) -> list[tuple[str, list[PairedDifference], str]]:
    """(title, differences, caption) of each paired table the report has."""
    tables = [("Paired differences", report.paired, PAIRED_CAPTION),
              ("Paired differences in agreement with full", report.paired_full, PAIRED_FULL_CAPTION)]
    return [table for table in tables if table[1]]


def rich_paired_tables(report: EvalReport) -> list[Table]:
    return [rich_table(title.lower(), PAIRED_HEADERS, paired_rows(rows), text)
            for title, rows, text in paired_tables(report)]


def rich_summary_table(report: EvalReport) -> Table | None:
    if not report.summaries:
        return None
    return rich_table("summaries", SUMMARY_HEADERS, summary_rows(report.summaries), summary_caption(report))


def write_report(out: Path, report: EvalReport) -> None:
    (out / "results.json").write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    sections = "".join(f"\n\n## {title}\n\n" + markdown_table(PAIRED_HEADERS, paired_rows(rows), text)
                       for title, rows, text in paired_tables(report))
    if report.summaries:
        sections += "\n\n## Summaries\n\n" + markdown_table(SUMMARY_HEADERS, summary_rows(report.summaries),
                                                             summary_caption(report))
    (out / "results.md").write_text("# Memory model evaluation (action consistency)\n\n"
                                    + markdown_table(HEADERS, table_rows(report.results), caption(report)) + sections,
                                    encoding="utf-8")
