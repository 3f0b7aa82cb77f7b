"""Benchmarks: scripts that print JSON (see docs/benchmarks.md)."""
