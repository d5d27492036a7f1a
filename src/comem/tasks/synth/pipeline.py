"""`synthesize`: from a package with its own tests to validated SWE-style task dirs (the SWE-smith approach).

1. fetch / locate the source (package.py) and run its whole suite once under coverage, each test in its
   own coverage context: the package must pass its own tests unmodified;
2. list mutations of the covered functions (mutate.py) and order them for the seed: operators, and per
   operator the functions, take turns, and a mutant whose function already has a task (or whose operator
   has a quarter of them) waits, so the tasks spread over functions and kinds of bug;
3. run each mutant against the tests that execute its lines; one that makes some of them fail is a task
   (validate.py), written with an issue-like statement (statement.py, write.py) and graded once more as
   the benchmark will grade it; stop after `n` tasks.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from comem.core.errors import ComemError
from comem.tasks.synth.mutate import Mutation, find_mutations
from comem.tasks.synth.package import SourceTree, resolve
from comem.tasks.synth.runner import SuiteRun, command_for, covering_tests, run_tests
from comem.tasks.synth.statement import problem_statement
from comem.tasks.synth.validate import Trial, check_task, pass_to_pass, try_mutant
from comem.tasks.synth.write import TaskFiles, ignore_junk, write_task

# Node ids that survive a trip through the command line and grading's `-rA` summary parser unchanged.
_SAFE_ID = re.compile(r"^[^\s]+::[^\s]+$")
_RUN_OVERHEAD_S = 30.0  # pytest start-up on a busy machine, on top of the tests' own time
_ATTEMPTS_PER_TASK = 20  # give up after trying this many mutants per task asked for


@dataclass
class SynthReport:
    package: str
    version: str | None
    out_dir: Path
    tests: int = 0  # tests of the package that pass unmodified
    candidates: int = 0  # mutations in covered code
    attempted: int = 0
    written: list[str] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> count ("survived", ...)
    baseline_s: float = 0.0
    elapsed_s: float = 0.0


Progress = Callable[[str, SynthReport], None]


def synthesize(package: str, out_dir: Path, *, n: int = 20, seed: int = 0, version: str | None = None,
               timeout_s: float = 600, max_pass_to_pass: int = 20, cache_dir: Path | None = None,
               on_progress: Progress | None = None) -> SynthReport:
    """Write up to `n` validated tasks for `package` (a pinned PyPI name or a local source dir) into out_dir."""
    if n < 1:
        raise ComemError(f"--n must be at least 1, got {n}.", fix="Ask for one task or more.")
    start = time.monotonic()
    tree = resolve(package, version, cache_dir)
    label = f"{tree.name} {tree.version}" if tree.version else tree.name
    report = SynthReport(tree.name, tree.version, out_dir)
    notify = on_progress or (lambda _event, _report: None)
    command = command_for(tree)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="comem-synth-") as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(tree.root, repo, ignore=ignore_junk)
        notify("running the package's own tests under coverage", report)
        baseline = run_tests(repo, command, None, timeout_s, coverage_data=Path(tmp) / "coverage.data")
        passed = _check_baseline(label, baseline, timeout_s)
        report.tests, report.baseline_s = len(passed), baseline.elapsed_s
        candidates = _candidates(repo, covering_tests(Path(tmp) / "coverage.data", repo), passed)
        report.candidates = len(candidates)
        if not candidates:
            raise ComemError(f"{label}: its tests execute no function that can be mutated.",
                             fix="Pick a package whose tests call into its own functions.")
        sources = {m.path: (repo / m.path).read_text(encoding="utf-8") for m, _ in candidates}
        job = _Job(tree, label, command, out_dir, passed, {t: r.duration for t, r in baseline.tests.items()},
                   seed, max_pass_to_pass, timeout_s)
        accepted: list[Mutation] = []
        for mutation, tests in _variety_first(_schedule(candidates, seed), accepted, math.ceil(n / 4)):
            if len(report.written) >= n or report.attempted >= n * _ATTEMPTS_PER_TASK:
                break
            report.attempted += 1
            notify(f"trying {mutation.operator} in {mutation.function}", report)
            trial = try_mutant(repo, mutation, sources[mutation.path], tests, command, job.limit(tests))
            reason = trial.rejected or _write(trial, job)
            if reason:
                report.rejected[reason] = report.rejected.get(reason, 0) + 1
            else:
                report.written.append(_instance_id(trial, tree))
                accepted.append(mutation)
            notify("tried", report)
    report.elapsed_s = round(time.monotonic() - start, 1)
    if not report.written:
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(report.rejected.items()))
        raise ComemError(f"{label}: none of the {report.attempted} mutants tried made a valid task ({reasons}).",
                         fix="Try another --seed, or a package whose tests check its results more closely.")
    return report


def _check_baseline(label: str, run: SuiteRun, timeout_s: float) -> set[str]:
    """The node ids of the tests that pass unmodified; a ComemError if the suite is missing or fails."""
    said = (run.log.strip().splitlines() or ["(no output)"])[-1]
    if run.timed_out:
        raise ComemError(f"{label}: its test suite did not finish within {timeout_s:g}s.",
                         fix="Raise --timeout, or pick a package with a faster test suite.")
    if run.collect_errors:
        where, error = next(iter(sorted(run.collect_errors.items())))
        last = (error.strip().splitlines() or ["?"])[-1]
        raise ComemError(f"{label} fails its own tests unmodified: collecting {where} fails ({last}).",
                         fix="Install the package's test dependencies, or pick a package whose tests need "
                         "only pytest.")
    failed = run.with_outcome("failed")
    if failed:
        raise ComemError(f"{label} fails {len(failed)} of its own {len(run.tests)} tests unmodified "
                         f"(e.g. {', '.join(failed[:3])}).",
                         fix="Install the package's test dependencies, or pick a version whose test suite passes.")
    passed = {t for t in run.with_outcome("passed") if _SAFE_ID.match(t)}
    if not passed:
        raise ComemError(f"{label} has no tests that pytest can run (pytest said: {said}).",
                         fix="Pick a package whose source ships its tests (test_*.py files).")
    return passed


def _candidates(repo: Path, coverage: dict[str, dict[int, set[str]]],
                passed: set[str]) -> list[tuple[Mutation, list[str]]]:
    """Mutations whose lines some passing test executes, each with those tests."""
    out = []
    for rel, lines in sorted(coverage.items()):
        try:
            source = (repo / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for mutation in find_mutations(source, rel):
            first, last = mutation.lines
            tests = set().union(*(lines.get(line, set()) for line in range(first, last + 1))) & passed
            if tests:
                out.append((mutation, sorted(tests)))
    return out


def _schedule(candidates: list[tuple[Mutation, list[str]]], seed: int) -> Iterator[tuple[Mutation, list[str]]]:
    """Deterministic for a seed: operators in turn (shuffled), and for each operator its functions in turn
    (shuffled), so that neither a big function nor a common operator dominates the first tries."""
    rng = random.Random(seed)
    by_operator: dict[str, dict[tuple[str, str], list[tuple[Mutation, list[str]]]]] = {}
    for candidate in candidates:
        mutation = candidate[0]
        by_operator.setdefault(mutation.operator, {}).setdefault((mutation.path, mutation.function), []).append(
            candidate)
    lanes = []
    for _, functions in sorted(by_operator.items()):
        groups = [rng.sample(group, len(group)) for _, group in sorted(functions.items())]
        rng.shuffle(groups)
        lanes.append(list(_interleave(groups)))
    rng.shuffle(lanes)
    yield from _interleave(lanes)


def _interleave(lists: list[list[tuple[Mutation, list[str]]]]) -> Iterator[tuple[Mutation, list[str]]]:
    for i in range(max((len(x) for x in lists), default=0)):
        for items in lists:
            if i < len(items):
                yield items[i]


def _variety_first(schedule: Iterator[tuple[Mutation, list[str]]], accepted: list[Mutation],
                   per_operator: int) -> Iterator[tuple[Mutation, list[str]]]:
    """The schedule, but a mutant whose function already has a task, or whose operator already has
    `per_operator` tasks, waits until everything else was tried (`accepted` grows as tasks are written)."""
    deferred = []
    for candidate in schedule:
        mutation = candidate[0]
        crowded = sum(m.operator == mutation.operator for m in accepted) >= per_operator
        if crowded or any((m.path, m.function) == (mutation.path, mutation.function) for m in accepted):
            deferred.append(candidate)
        else:
            yield candidate
    yield from deferred


@dataclass
class _Job:
    """What every task of one synthesis run shares."""

    tree: SourceTree
    label: str
    command: str
    out_dir: Path
    passed: set[str]
    durations: dict[str, float]  # node id -> seconds in the baseline run
    seed: int
    max_pass_to_pass: int
    timeout_s: float

    def limit(self, tests: list[str]) -> float:
        return min(self.timeout_s, _RUN_OVERHEAD_S + 5 * sum(self.durations.get(t, 0.0) for t in tests))


def _instance_id(trial: Trial, tree: SourceTree) -> str:
    """Stable for the same bug: the package name and a hash of the mutated file."""
    digest = hashlib.sha256((trial.mutation.path + "\0" + trial.mutated).encode()).hexdigest()
    return f"{tree.name}-{digest[:10]}"


def _write(trial: Trial, job: _Job) -> str | None:
    """Write the task of a mutant that some tests catch and grade it; the reason if it is no good."""
    mutation, tree = trial.mutation, job.tree
    instance_id = _instance_id(trial, tree)
    p2p = pass_to_pass(trial, job.passed, random.Random(f"{job.seed}:{instance_id}"), job.max_pass_to_pass)
    hidden = sorted({t.split("::")[0] for t in trial.failing})
    if any(not (tree.root / f).is_file() for f in hidden):
        return "test file not found"
    forbidden = {part.split("[")[0] for t in trial.failing for part in t.split("::")[1:]}
    failures = [(t, f) for t in trial.failing if (f := trial.run.tests[t].failure)]
    files = TaskFiles(
        instance_id=instance_id, problem_statement=problem_statement(job.label, failures, forbidden),
        fail_to_pass=trial.failing, pass_to_pass=p2p, test_command=job.command, mutated_path=mutation.path,
        original=(tree.root / mutation.path).read_text(encoding="utf-8"), mutated=trial.mutated, hidden_tests=hidden,
        provenance={"package": tree.name, "version": tree.version, "sdist_sha256": tree.sha256, "seed": job.seed,
                    "operator": mutation.operator, "file": mutation.path, "function": mutation.function,
                    "line": mutation.lines[0]},
    )
    task_dir = write_task(job.out_dir, tree.root, files)
    problem = check_task(task_dir, job.limit(trial.failing + p2p))
    if problem:
        shutil.rmtree(task_dir)
    return problem
