"""Replay inputs: recorded trajectories loaded from runs and other agents' logs, or sampled on bundled tasks."""
