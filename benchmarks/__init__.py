"""Throughput benchmarks of the event pipeline (`python -m benchmarks.pipeline`).

Every figure is a ratio against a baseline measured in the same run, on the same machine, so
that a shared or slow machine moves both sides alike. See docs/benchmarks.md.
"""
