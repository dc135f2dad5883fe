"""`python -m bench`: run every benchmark in turn (each prints a table and writes bench/results/*.json)."""

from __future__ import annotations

import importlib
import sys

BENCHES = ("bench.lab_throughput", "bench.drill_vs_kubectl", "bench.fidelity")


def main() -> int:
    status = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        status = max(status, int(importlib.import_module(name).main([]) or 0))
    return status


if __name__ == "__main__":
    sys.exit(main())
