"""Benchmark scripts: `python -m benchmarks.NAME` prints a table (and can write JSON)."""
