"""Reports of run directories: per-arm success with bootstrap intervals, latency, speedups, memory, retention."""
