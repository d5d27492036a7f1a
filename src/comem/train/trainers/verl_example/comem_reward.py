"""verl custom reward for CoMem's memory model: the frozen agent's action consistency (0..10) with the reference.

Point verl at this file (comem must be installed in verl's environment):

    custom_reward_function.path=<dir>/comem_reward.py custom_reward_function.name=compute_score_batch
    reward_model.reward_manager=batch        # or name=compute_score with the naive manager

and name the agent, an OpenAI-compatible server (vLLM/SGLang) reachable from every Ray worker:

    export COMEM_AGENT_URL=http://agent-host:8000/v1 COMEM_AGENT_MODEL=<served model name>
"""

from comem.train.trainers.verl import compute_score, compute_score_batch

__all__ = ["compute_score", "compute_score_batch"]
