"""Latency benchmarks: matched replay on real engines, a serving simulator for GPU scale, and its calibration."""
