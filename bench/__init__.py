"""Benchmarks for drkit and its lab (`python -m bench` runs them all; results land in bench/results/)."""
