"""Benchmarks: datasets, metrics, runners and plots. Uses everything; nothing in the runtime imports it."""
