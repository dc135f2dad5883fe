"""`python -m drkit_lab.jobs data|train ...`: the entry point the lab's Argo controller runs as a subprocess.

Results go to stdout as `key=value` lines (the last lines), so a workflow step's log shows what it produced.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from drkit_lab.jobs.data import write_dataset
from drkit_lab.jobs.scenarios import DEFAULT_PADDING_MIB, SCENARIOS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m drkit_lab.jobs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="write the synthetic financial dataset (CSV)")
    data.add_argument("--out", type=Path, required=True)
    data.add_argument("--rows", type=int, default=1200)
    data.add_argument("--seed", type=int, default=0)

    wait = sub.add_parser("sleep", help="wait (a long-running step, to test stopping workflows)")
    wait.add_argument("--seconds", type=float, default=30.0)

    train = sub.add_parser("train", help="train a classifier and log it to MLflow")
    train.add_argument(
        "--data", type=Path, help="CSV from `data` (generated in a scratch directory when absent)"
    )
    train.add_argument("--rows", type=int, default=1200, help="rows to generate when --data is absent")
    train.add_argument("--model-variant", choices=("baseline", "enhanced"), default="baseline")
    train.add_argument("--experiment", default="financial-mlops")
    train.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)")
    train.add_argument("--layout", choices=("v3", "v2"), default="v3")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="normal",
        help="log one of seed 000's failure models instead (wrongly built or oversized)",
    )
    train.add_argument(
        "--padding-mib", type=int, default=DEFAULT_PADDING_MIB, help="padding of the oversized model (MiB)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "data":
        print(f"dataset={write_dataset(args.out, args.rows, args.seed)}")
        return 0

    if args.command == "sleep":
        time.sleep(args.seconds)
        return 0

    from drkit_lab.jobs.train import train  # noqa: PLC0415 - MLflow is heavy: load it for `train` only

    tracking_uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking_uri:
        print("no MLflow tracking URI: pass --tracking-uri or set MLFLOW_TRACKING_URI", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="drkit-job-") as scratch:
        data_path: Path = args.data or write_dataset(Path(scratch) / "dataset.csv", args.rows, args.seed)
        if not data_path.is_file():
            print(f"no dataset at {data_path}: run `data --out {data_path}` first", file=sys.stderr)
            return 2
        result = train(
            data_path,
            args.model_variant,
            args.experiment,
            tracking_uri,
            args.layout,
            args.seed,
            scenario=args.scenario,
            padding_mib=args.padding_mib,
        )
    for line in result.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
