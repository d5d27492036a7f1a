"""The report's tables: one compact table for the terminal, four sections of Markdown for summary.md."""

from __future__ import annotations

from rich.table import Table

from comem.core.tables import markdown_table, rich_table
from comem.report.retention import CATEGORIES
from comem.report.summary import ArmReport, ViewRetention


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _ci(value: float | None, ci: tuple[float, float] | None, fmt=_pct) -> str:
    if value is None:
        return "-"
    return fmt(value) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "")


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


TERMINAL = ["arm", "solved", "steps", "lat", "p90", "wall", "mem", "kept", "x wall", "x step"]
TERMINAL_LEGEND = ("solved: resolved/episodes · lat/p90: agent latency per step in s, median and p90 (model call + "
                   "exposed memory wait) · wall: mean episode time in s · mem: memory updates · kept: identifier "
                   "retention of summaries · x wall, x step: speedup vs full, ratio of mean episode wall and of "
                   "mean step latency (intervals, memory and token figures: summary.md; definitions: "
                   "docs/metrics.md)")


def terminal_row(r: ArmReport) -> list[str]:
    return [r.arm, f"{r.resolved}/{r.episodes}", _num(r.mean_steps, 1), _num(r.step_latency_p50_s),
            _num(r.step_latency_p90_s), _num(r.wall_mean_s, 1), str(r.memory.updates) if r.memory else "-",
            _pct(r.retention.score) if r.retention else "-",
            _x(r.speedup_wall), _x(r.speedup_step)]


def to_table(rows: list[ArmReport], title: str = "comem report") -> Table:
    return rich_table(title, TERMINAL, [terminal_row(r) for r in rows], TERMINAL_LEGEND)


def _exits(r: ArmReport) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(r.exit_reasons.items()))


SECTIONS = [
    ("Success and cost",
     ["arm", "episodes", "solved", "success [95% CI]", "mean steps", "prompt tok", "completion tok", "prompt/step",
      "completion/step", "max prompt", "exit reasons"],
     lambda r: [r.arm, str(r.episodes), f"{r.resolved}/{r.graded}", _ci(r.success_rate, r.success_ci),
                _num(r.mean_steps, 1), str(r.prompt_tokens), str(r.completion_tokens),
                _num(r.prompt_tokens_per_step, 0), _num(r.completion_tokens_per_step, 0), str(r.max_prompt_tokens),
                _exits(r)],
     "solved: resolved/graded. success: resolved/episodes (an ungraded arm has none) with a seeded 95% percentile "
     "bootstrap interval over episodes. Tokens are the agent's, summed over steps as the server reported them."),
    ("Latency",
     ["arm", "wall mean s", "wall p50 s", "wall p90 s", "step mean s", "step p50 s", "step p90 s", "exposed wait s",
      "X/wall", "x wall [95% CI]", "x/step [95% CI]", "pairs"],
     lambda r: [r.arm, _num(r.wall_mean_s, 1), _num(r.wall_p50_s, 1), _num(r.wall_p90_s, 1),
                _num(r.step_latency_mean_s), _num(r.step_latency_p50_s), _num(r.step_latency_p90_s),
                _num(r.memory_wait_s, 1), f"{100 * r.exposed_share:.1f}%", _ci(r.speedup_wall, r.speedup_wall_ci, _x),
                _ci(r.speedup_step, r.speedup_step_ci, _x), str(r.speedup_pairs)],
     "wall: episode time. step: agent latency per step = agent model call + exposed memory wait; p50/p90 by "
     "linear interpolation. exposed wait: total time the agent blocked on summaries; X/wall: that over the "
     "summed episode time. x wall / x/step: the full arm's mean over this arm's (Σ latency / Σ steps for "
     "x/step), paired by (task, seed) over `pairs` episodes both arms finished (0: unpaired), episodes "
     "resampled in the bootstrap. Definitions: docs/metrics.md."),
    ("Memory updates",
     ["arm", "updates", "failures", "superseded", "latency mean s", "hidden", "summary tok", "compression"],
     lambda r: [r.arm, *([str(r.memory.updates), str(r.memory.failures), str(r.memory.superseded),
                          _num(r.memory.latency_mean_s), _pct(r.memory.hidden_share),
                          _num(r.memory.summary_tokens_mean, 0),
                          _num(r.memory.compression_mean, 1) + ("x" if r.memory.compression_mean else "")]
                         if r.memory else ["-"] * 7)],
     "updates: successful summaries; failures: errors or timeouts (the agent kept the previous summary); "
     "superseded: still running when the episode ended. latency and hidden are over finished calls (updates "
     "and failures): hidden = 1 - Σ exposed wait / Σ latency, within [0, 1]. compression: estimated tokens of "
     "the steps a summary replaces / its tokens."),
    ("Identifier retention",
     ["arm", "updates", "overall", *CATEGORIES],
     lambda r: [r.arm, *([str(r.retention.updates), _pct(r.retention.score),
                          *(f"{_pct(r.retention.by_category[c])} ({r.retention.found[c]})" for c in CATEGORIES)]
                         if r.retention else ["-"] * (2 + len(CATEGORIES)))],
     "Share of the identifiers in each summarised span that appear in the memory the agent was shown (its "
     "summary or view, and the calls a keep_calls arm kept; mean over updates; in "
     "brackets: identifiers found). paths: file paths; commands: programs run with bash; errors: exception "
     "names and failing test ids; numbers: 2+ digits or dotted; names: `backticked` functions and classes. "
     "Extraction rules: comem/report/retention.py."),
]


VIEW_HEADERS = ["arm", "view", "updates", "overall", *CATEGORIES]


def views_table(rows: list[ViewRetention], ledger_tokens: int) -> Table:
    """Identifier retention of the same updates under each memory view."""
    cells = [[r.arm, r.view, *([str(r.retention.updates), _pct(r.retention.score),
                                *(f"{_pct(r.retention.by_category[c])} ({r.retention.found[c]})" for c in CATEGORIES)]
                               if r.retention else ["-"] * (2 + len(CATEGORIES)))] for r in rows]
    return rich_table("identifier retention by memory view", VIEW_HEADERS, cells,
                      "The same successful updates: summary = the recorded summary (recent: the recorded recent "
                      f"view); ledger = the ledger of the steps it covers ({ledger_tokens} tokens; a recorded ledger "
                      "as shown); both = the two. In brackets: identifiers found. Rules: comem/report/retention.py.")


def to_markdown(rows: list[ArmReport], figures: list[str], note: str | None = None) -> str:
    parts = ["# comem report\n"]
    for title, headers, cells, legend in SECTIONS:
        parts.append(f"## {title}\n\n" + markdown_table(headers, [cells(r) for r in rows], legend))
    if figures:
        parts.append("## Figures\n\n" + "\n".join(f"![{name}]({name})" for name in figures) + "\n")
    if note:
        parts.append(f"{note}\n")
    return "\n".join(parts)
