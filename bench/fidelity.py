"""`python -m bench.fidelity`: run the differential fidelity suite and write bench/results/fidelity.json.

The suite (tests/fidelity) runs every scenario on the emulated lab and on the real control plane built by
`make controlplane`; this entry point only runs it with DRKIT_FIDELITY_RESULTS set, so that ordinary test
runs never rewrite the committed results, and prints the figure and the known differences.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "fidelity.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fidelity", description=__doc__)
    parser.add_argument("-o", "--output", type=Path, default=RESULTS, help="results file (JSON)")
    args = parser.parse_args(argv)
    env = dict(os.environ, DRKIT_FIDELITY_RESULTS=str(args.output))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "lab"), env.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/fidelity", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        check=False,
    )
    if not args.output.is_file():
        return done.returncode or 1
    results = json.loads(args.output.read_text(encoding="utf-8"))
    print(f"\nfidelity: {results['equal']} of {results['total']} scenarios equal in {results['seconds']} s")
    for row in results["scenarios"]:
        if row["verdict"] != "equal":
            print(f"  {row['verdict']:<17} {row['scenario']}: {row.get('reason', '')}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
