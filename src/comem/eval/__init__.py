"""Evaluation at scale: task sources x arms x seeds, bounded concurrency, resumable results, a Ray executor.

`comem run` is its special case (one source, seed 0, one episode at a time). See README.md beside this file.
"""
