"""Benchmark 5 and 6 progress: per student, per school, with equity gaps (named so as not to suggest the benchmarks/ scripts)."""
