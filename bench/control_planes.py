"""The full drill on each control plane, side by side in one run: emulated and real, alternating.

Each run starts a fresh Lab in this process on one control plane (the real one is etcd, kube-apiserver and
kube-controller-manager from `make controlplane`), with a real MLflow and the financial-mlops platform
trained and Ready, takes the Seldon scheduler down for `--outage` seconds (so the teardown meets seed 003's
stuck finalizers), and runs `python -m drkit drill playbooks/financial-mlops.yaml --yes -o json` against it
through its kubeconfig, as a user would.

Measured per run: lab start (API server up; platform installed), the drill's wall time and phases (from its
JSON report), its API requests by verb (requests.jsonl), and the control plane's memory: the resident set of
etcd, kube-apiserver and kube-controller-manager (real), or this whole process's (emulated: the server runs
in it, beside the operators and the bench itself). Results go to bench/results/control_planes.json.

    python -m bench.control_planes [--runs 2] [--outage 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drkit_lab.controlplane.build import build_record, find_built
from drkit_lab.runner import Lab
from drkit_lab.settings import LabSettings

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = REPO / "playbooks" / "financial-mlops.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "control_planes.json"
PLANES = ("emulated", "real")
PHASES = ("teardown", "rebuild", "pipelines", "deploy", "validate")
DRILL_TIMEOUT_S = 600.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _plane_memory_mib(lab: Lab) -> dict[str, float]:
    if lab.real is None:  # the emulated server runs in this process, beside the operators and the bench
        return {"bench process (emulated server inside)": round(_rss_kib(os.getpid()) / 1024, 1)}
    return {name: round(_rss_kib(pid) / 1024, 1) for name, pid in lab.real.process_ids().items()}


def _requests(log: Path, since: float) -> dict[str, int]:
    """The drill's requests by method (WATCH apart), from the lab's request log."""
    methods: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["time"] >= since:
                methods["WATCH" if record["watch"] else record["method"]] += 1
    return dict(sorted(methods.items()))


def run_once(plane: str, outage: float, work: Path) -> dict[str, Any]:
    settings = LabSettings(state_dir=work / "lab")
    started = time.monotonic()
    lab = Lab(settings, mlflow=True, platform="financial-mlops", control_plane=plane)  # type: ignore[arg-type]
    lab.start()
    lab_seconds = time.monotonic() - started
    try:
        memory = _plane_memory_mib(lab)
        manifests = work / "manifests"
        shutil.copytree(REPO / "manifests", manifests)
        lab.admin("/lab/controllers", {"name": "seldon-scheduler", "down": True, "for": outage})
        env = {**os.environ, "KUBECONFIG": str(lab.kubeconfig_path), "DRKIT_HOME": str(work / "home")}
        argv = [sys.executable, "-m", "drkit", "drill", str(PLAYBOOK), "--yes", "-o", "json"]
        argv += [
            "--set",
            f"manifests={manifests / 'financial-mlops'}",
            "--set",
            f"mlflow_url={lab.mlflow_uri}",
        ]
        since = time.time()
        drill_started = time.monotonic()
        done = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=DRILL_TIMEOUT_S, check=False
        )
        drill_seconds = time.monotonic() - drill_started
        report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
        phases = {p["name"]: round(p.get("duration") or 0.0, 2) for p in report.get("phases", [])}
        return {
            "plane": plane,
            "version": lab.control_plane_version,
            "exit_code": done.returncode,
            "lab_start_seconds": round(lab_seconds, 1),
            "drill_seconds": round(drill_seconds, 2),
            "phases": phases,
            "requests": _requests(lab.state.request_log, since),
            "memory_mib": memory,
            "stderr_tail": done.stderr[-400:] if done.returncode else "",
        }
    finally:
        lab.stop()


def _range(values: list[float]) -> list[float]:
    return [min(values), max(values)]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for plane in PLANES:
        mine = [r for r in runs if r["plane"] == plane and r["exit_code"] == 0]
        if not mine:
            continue
        summary[plane] = {
            "runs": len(mine),
            "drill_seconds_median": round(statistics.median(r["drill_seconds"] for r in mine), 2),
            "drill_seconds_range": [
                min(r["drill_seconds"] for r in mine),
                max(r["drill_seconds"] for r in mine),
            ],
            "lab_start_seconds_median": round(statistics.median(r["lab_start_seconds"] for r in mine), 1),
            "phases_median": {
                p: round(statistics.median(r["phases"].get(p, 0.0) for r in mine), 2) for p in PHASES
            },
            "requests_median": round(statistics.median(sum(r["requests"].values()) for r in mine)),
            "memory_mib": mine[-1]["memory_mib"],
        }
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.control_planes", description=__doc__)
    parser.add_argument("--runs", type=int, default=2, help="runs per control plane (alternating)")
    parser.add_argument("--outage", type=float, default=15.0, help="seconds the Seldon scheduler is down")
    args = parser.parse_args(argv)
    binaries = find_built()
    if binaries is None:
        print("the real control plane is not built: run `make controlplane`", file=sys.stderr)
        return 2
    runs: list[dict[str, Any]] = []
    for index in range(args.runs):
        for plane in PLANES:
            with tempfile.TemporaryDirectory(prefix=f"cp-bench-{plane}-") as tmp:
                result = run_once(plane, args.outage, Path(tmp))
            runs.append(result)
            print(
                f"run {index + 1} {plane:8} exit {result['exit_code']}"
                f"  lab {result['lab_start_seconds']:5.1f} s  drill {result['drill_seconds']:6.2f} s"
                f"  requests {sum(result['requests'].values())}",
                flush=True,
            )
    summary = summarise(runs)
    record = {
        "benchmark": "control_planes",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "build": build_record(binaries),
        "outage_seconds": args.outage,
        "peak_rss_bench_process_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "summary": summary,
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
