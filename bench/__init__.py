"""Benchmarks against the running local stack; `make bench` writes results to bench/results/."""
