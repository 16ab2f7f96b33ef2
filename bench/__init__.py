"""Benchmarks: figures printed, not asserted. `python -m bench` runs them all (`--quick`)."""
