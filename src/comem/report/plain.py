"""The plain sentences printed under a run's table: what was solved, and what the speed figures mean on this machine.

A newcomer reads "kso 0.54x" as "CoMem is slower". On one machine whose CPU cores run both the agent and the
memory model, with histories of a few steps, that is the expected result and not the method's claim; say so.
"""

from __future__ import annotations

import os

from comem.report.summary import ArmReport

BASELINE = "full"


def solved_sentence(rows: list[ArmReport]) -> str:
    """`Solved: full 2/4, kso 1/4 tasks.`"""
    return "Solved: " + ", ".join(f"{r.arm} {r.resolved}/{r.graded}" for r in rows) + " tasks."


def load_sentence(load: tuple[float, float], cores: int) -> str:
    """The machine's load over the run; above half the cores, a warning that it flatters the memory arms: `full`
    runs on every core, and llama.cpp's threads, each waiting on the others at every layer, lose the most when
    other work takes a core. Only the load at the start says that: by the end it counts the run's own threads."""
    said = f" The load average went from {load[0]:.1f} to {load[1]:.1f} on {cores} cores"
    if load[0] <= cores / 2:
        return said + "."
    return said + (f": other work slowed {BASELINE}, on every core, more than the memory arms, so these ratios "
                   "flatter them; measure on an idle machine.")


def hardware_sentence(threads: tuple[int, int, int | None], cores: int) -> str:
    """Which cores each kind of arm had: (the baseline's agent, the memory arms' agent, their memory model: None
    where it is served elsewhere, 0 where it shares the agent's engine)."""
    baseline, agent, memory = threads

    def n(count: int) -> str:
        return f"{count} CPU core{'s' if count > 1 else ''}"

    if memory == 0:
        return (f"On this machine every arm's agent had {n(agent)}, and the memory arms' memory model ran on the "
                "agent's own engine, sharing them (equal hardware). ")

    if memory is None:
        return (f"On this machine {BASELINE} had {n(baseline)} of {cores} and the memory arms' agent {n(agent)}, "
                "with their memory model served elsewhere: extra hardware for the memory arms, not an equal "
                "comparison. ")
    if baseline == agent + memory:
        return (f"On this machine {BASELINE} had {n(baseline)} and the memory arms split them, {agent} for the agent "
                f"and {memory} for the memory model (equal hardware). ")
    more = "more" if agent + memory > baseline else "fewer"
    return (f"On this machine {BASELINE} had {n(baseline)} and the memory arms {agent} for the agent plus {memory} "
            f"for the memory model: {more} cores than {BASELINE}, not equal hardware (leave --threads unset for "
            "that). ")


def speed_sentence(rows: list[ArmReport], *, local_models: bool, cores: int | None = None,
                   load: tuple[float, float] | None = None, threads: tuple[int, int, int | None] | None = None,
                   memory_model: bool = True) -> str:
    """One sentence on the measured speed ratios and why they look as they do here; `load`: the 1-minute load
    average at the start and the end of the run; `threads`: which cores each kind of arm had (`hardware_sentence`);
    `memory_model`: whether any arm ran one (not when every memory arm's view is extracted: `ledger`, `recent`)."""
    cores = cores or os.cpu_count() or 1
    ratios = [f"{r.arm} {r.speedup_wall:.2f}x" for r in rows if r.arm != BASELINE and r.speedup_wall is not None]
    step = next((r.step_latency_p50_s for r in rows if r.arm == BASELINE and r.step_latency_p50_s), None)
    said = (f"An agent step took {step:.0f} s (median) and the memory arms ran at {', '.join(ratios)} the speed of "
            f"{BASELINE} end to end. " if step and ratios else "")
    if not ratios:
        return f"An agent step took {step:.0f} s (median)." if step else ""
    if not local_models:
        return said + ("Speed here depends on your servers; `comem bench replay` compares arms with a cache session "
                       "each.")
    slower = any(r.speedup_wall < 1 for r in rows if r.arm != BASELINE and r.speedup_wall is not None)
    curve = "(`comem bench curve` says from how many steps kso can win on this machine)"
    if not memory_model:
        return said + ("No memory model ran: the memory arms' views are extracted from the steps, so every arm had "
                       "the same cores. What they pay is a re-prefill after each install (the prompt's cached "
                       "prefix ends where the memory changes), "
                       + (f"which short episodes do not earn back {curve}." if slower else
                          f"which these episodes earned back {curve}.")
                       + (load_sentence(load, cores) if load else ""))
    why = (f"With short episodes the memory model's work competes with the agent's instead of hiding behind it: a "
           f"ratio below 1x is expected here {curve}. CoMem's gains need long histories or a memory model on its "
           "own hardware (see `comem bench`)." if slower else
           f"The memory model's work hid behind the agent's here {curve}.")
    return said + (hardware_sentence(threads, cores) if threads else "") + why + (
        load_sentence(load, cores) if load else "")
