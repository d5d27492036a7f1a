"""Trainers for the memory model (docs/method.md §6-8): SFT warm-up and GRPO on TRL, an export for verl,
offline base weights.

Heavy libraries (torch, transformers, trl, peft) load only when a trainer runs; see README.md in this directory.
"""
