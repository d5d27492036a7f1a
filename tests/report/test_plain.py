"""The plain sentences under a run's table: what was solved and what the speed ratios mean on this machine."""

from __future__ import annotations

from comem.report.plain import solved_sentence, speed_sentence
from comem.report.summary import ArmReport


def row(arm: str, resolved: int, speedup: float | None = None, step_p50: float | None = 9.6) -> ArmReport:
    return ArmReport(arm=arm, episodes=4, graded=4, resolved=resolved, success_rate=resolved / 4, success_ci=None,
                     exit_reasons={"submitted": 4}, steps=20, mean_steps=5.0, prompt_tokens=1, completion_tokens=1,
                     prompt_tokens_per_step=None, completion_tokens_per_step=None, max_prompt_tokens=1,
                     wall_mean_s=60.0, wall_p50_s=None, wall_p90_s=None, step_latency_mean_s=None,
                     step_latency_p50_s=step_p50, step_latency_p90_s=None, memory_wait_s=0.0, exposed_share=0.0,
                     speedup_wall=speedup)


def test_a_ratio_below_one_on_shared_cores_is_explained() -> None:
    rows = [row("full", 2), row("kso", 1, speedup=0.54)]
    assert solved_sentence(rows) == "Solved: full 2/4, kso 1/4 tasks."
    text = speed_sentence(rows, local_models=True, cores=2, threads=(2, 1, 1))
    assert text.startswith("An agent step took 10 s (median) and the memory arms ran at kso 0.54x the speed of full")
    assert "full had 2 CPU cores and the memory arms split them, 1 for the agent and 1 for the memory model " \
           "(equal hardware)" in text and "a ratio below 1x is expected here" in text


def test_a_faster_memory_arm_is_not_told_it_was_expected_slower() -> None:
    rows = [row("full", 2), row("kso", 1, speedup=1.12)]
    text = speed_sentence(rows, local_models=True, cores=2, threads=(2, 1, 1))
    assert "kso 1.12x" in text and "below 1x" not in text and "hid behind the agent's here" in text
    extracted = speed_sentence([row("full", 2), row("kso-ledger", 1, speedup=1.05)], local_models=True, cores=2,
                               memory_model=False)
    assert "earned back" in extracted and "do not earn back" not in extracted


def test_unequal_hardware_is_said_plainly() -> None:
    rows = [row("full", 2), row("kso", 1, speedup=1.2)]
    threads_set = speed_sentence(rows, local_models=True, cores=2, threads=(1, 1, 1))  # --threads 1
    assert "full had 1 CPU core and the memory arms 1 for the agent plus 1 for the memory model: more cores " \
           "than full, not equal hardware" in threads_set
    served = speed_sentence(rows, local_models=True, cores=2, threads=(2, 2, None))  # --memory-url
    assert "memory model served elsewhere: extra hardware for the memory arms" in served
    shared = speed_sentence(rows, local_models=True, cores=2, threads=(2, 2, 0))  # memory: agent
    assert "every arm's agent had 2 CPU cores, and the memory arms' memory model ran on the agent's own engine, " \
           "sharing them (equal hardware)" in shared


def test_arms_with_extracted_views_are_not_said_to_run_a_memory_model() -> None:
    rows = [row("full", 2), row("kso-recent", 1, speedup=0.93)]
    text = speed_sentence(rows, local_models=True, cores=2, threads=(2, 2, 0), memory_model=False, load=(0.5, 2.0))
    assert "kso-recent 0.93x" in text and "No memory model ran" in text and "re-prefill after each install" in text
    assert "memory model's work" not in text and "own engine" not in text
    assert text.endswith("The load average went from 0.5 to 2.0 on 2 cores.")


def test_remote_servers_and_a_single_arm_get_no_cpu_story() -> None:
    remote = speed_sentence([row("full", 2), row("kso", 1, speedup=1.3)], local_models=False)
    assert "CPU" not in remote and "comem bench replay" in remote
    assert speed_sentence([row("full", 2)], local_models=True) == "An agent step took 10 s (median)."
    assert speed_sentence([row("full", 2, step_p50=None)], local_models=True) == ""


def test_the_load_is_said_and_a_busy_machine_is_called_flattering() -> None:
    rows = [row("full", 2), row("kso", 1, speedup=1.3)]
    idle = speed_sentence(rows, local_models=True, cores=2, load=(0.4, 0.9))
    assert idle.endswith("The load average went from 0.4 to 0.9 on 2 cores.")
    own = speed_sentence(rows, local_models=True, cores=2, load=(0.2, 1.6))  # the run's own threads, not others'
    assert own.endswith("The load average went from 0.2 to 1.6 on 2 cores.")
    busy = speed_sentence(rows, local_models=True, cores=2, load=(3.1, 3.6))
    assert "went from 3.1 to 3.6 on 2 cores: other work slowed full" in busy and "flatter them" in busy
    assert "load" not in speed_sentence(rows, local_models=False, load=(0.5, 3.6))  # served models: not this CPU
