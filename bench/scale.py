"""drkit against seed 003's procedure scripted with kubectl, at 10, 100 and 1,000 stuck Models, on each plane.

For each control plane (`emulated`, the lab's own API server; `real`, etcd + kube-apiserver +
kube-controller-manager from `make controlplane`) one Lab runs in this process, with the Seldon CRDs and
the lab's operators, Models loaded by the stand-in agent (bench/scale_platform.py says why). For each N the
platform of bench/scale_platform.py is applied and made Ready; then, run by run and alternating, the Seldon
scheduler is taken down (so the teardown sticks on every Model's and Experiment's finalizer), one contender
runs as a subprocess against the lab's kubeconfig, and the scheduler comes back once the namespace is gone
(the operator is reinstalled as the rebuild starts, the same moment for both):

- drkit: `python -m drkit drill <playbook> --yes -o json`: delete (no wait), clearFinalizers, apply with wait;
- baseline: bench/baseline/scale_procedure.sh: `kubectl delete -k`, one `kubectl patch` per stuck object,
  a polled wait for the namespace, `kubectl apply -k`, polled waits for every Model and Experiment Ready.

Each contender ends with the platform rebuilt and Ready, which is where the next run starts. Measured per
run: wall time and phases, API requests by verb (the lab's requests.jsonl in the run's window), peak RSS
(VmHWM of the contender's own process; the largest process of its tree), CPU time of the tree. Results go
to bench/results/scale.json: every run, and one record per control plane and N with both contenders'
medians and the ratio baseline/drkit; a fitted line of wall time against N per contender and plane; and
a PNG plot (matplotlib, the `charts` extra) when it is installed.

    python -m bench.scale [--planes emulated,real] [--sizes 10,100,1000] [--runs 3,2,1] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.drill_vs_kubectl import (
    CONTENDERS,
    Contender,
    ProcessOutcome,
    count_requests,
    parse_markers,
    run_process,
    spread,
)
from bench.scale_platform import (
    OBJECTS_PER_MODEL,
    namespace_for,
    write_artifact,
    write_base,
    write_playbook,
)
from drkit_lab.kubeapi import ApiClient
from drkit_lab.kubeconfig import CONTEXT_NAME
from drkit_lab.platforms import install_crds, load_yaml_documents
from drkit_lab.platforms.financial_mlops import apply_documents, find_kubectl
from drkit_lab.runner import Lab
from drkit_lab.settings import LabSettings

HERE = Path(__file__).resolve().parent
BASELINE_SCRIPT = HERE / "baseline" / "scale_procedure.sh"
RESULTS = HERE / "results" / "scale.json"
PLOT = HERE / "results" / "scale.png"
PLANES = ("emulated", "real")
SCHEDULER = "seldon-scheduler"
READY_TIMEOUT_SECONDS = 900.0
GONE_POLL_SECONDS = 0.05  # how often the bench looks for the namespace's end (its own client, not counted)
PHASES = ("teardown", "rebuild")


@dataclass(frozen=True)
class Settings:
    poll: float  # the baseline's sleep between polls
    latency_ms: float
    keep: bool
    run_timeout: float = (
        1800.0  # one contender's run; the baseline at N = 1,000 on the real plane takes >10 min
    )


# ------------------------------------------------------------------------------------------ pure parts


def fit_line(points: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Least-squares wall = intercept + slope * N, and R²; the slope is seconds per stuck Model."""
    n = len(points)
    if n < 2:
        return {}
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return {}
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for _, y in points)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in points)
    r2 = 1.0 - ss_res / ss_tot if ss_tot else 1.0
    return {
        "slope_seconds_per_model": round(slope, 5),
        "intercept_seconds": round(intercept, 3),
        "r2": round(r2, 4),
    }


def growth_exponent(points: Sequence[tuple[float, float]]) -> float | None:
    """The exponent k of wall ∝ N^k between the smallest and the largest N (1: linear, 2: quadratic).
    Fixed costs (process start, discovery) pull it below 1 at small N."""
    ordered = sorted(p for p in points if p[0] > 0 and p[1] > 0)
    if len(ordered) < 2 or ordered[0][0] == ordered[-1][0]:
        return None
    import math  # noqa: PLC0415 (only here)

    (x0, y0), (x1, y1) = ordered[0], ordered[-1]
    return round(math.log(y1 / y0) / math.log(x1 / x0), 3)


def drkit_phases(report: Mapping[str, Any]) -> dict[str, float]:
    return {str(p["name"]): float(p.get("duration") or 0.0) for p in report.get("phases", [])}


def baseline_phases(markers: Mapping[str, float]) -> dict[str, float]:
    return {
        p: markers[f"phase-end:{p}"] - markers[f"phase-start:{p}"]
        for p in PHASES
        if f"phase-start:{p}" in markers and f"phase-end:{p}" in markers
    }


SCALE_METRICS = (
    "wall_seconds",
    "phases.teardown",
    "phases.rebuild",
    "requests.total",
    "requests.writes",
    *(
        f"requests.by_verb.{v}"
        for v in ("discovery", "get", "list", "watch", "create", "update", "patch", "delete")
    ),
    "peak_rss_mib.process",
    "peak_rss_mib.tree_largest",
    "cpu_seconds",
)


def _get(run: Mapping[str, Any], path: str) -> float | None:
    value: Any = run
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


def summarize_point(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One (plane, N): each contender's spread of every metric over its good runs, and baseline/drkit."""
    record: dict[str, Any] = {}
    for contender in CONTENDERS:
        good = [r for r in runs if r["contender"] == contender and r.get("ok")]
        if not good:
            continue
        metrics: dict[str, dict[str, float]] = {"runs": {"median": float(len(good)), "min": 0.0, "max": 0.0}}
        for metric in SCALE_METRICS:
            values = [_get(r, metric) for r in good]
            if metric.startswith("requests.by_verb."):
                values = [v or 0.0 for v in values]
            present = [v for v in values if v is not None]
            if present:
                metrics[metric] = spread(present)
        record[contender] = metrics
    if "drkit" in record and "baseline" in record:
        ratio = {}
        for metric in ("wall_seconds", "phases.teardown", "phases.rebuild", "requests.total", "cpu_seconds"):
            d, b = record["drkit"].get(metric), record["baseline"].get(metric)
            if d and b and d["median"] > 0:
                ratio[metric] = round(b["median"] / d["median"], 2)
        record["baseline_over_drkit"] = ratio
    return record


def growth(points: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """Per contender, wall time against N: the fitted line and the exponent."""
    out: dict[str, Any] = {}
    for contender in CONTENDERS:
        xy = [
            (float(n), rec[contender]["wall_seconds"]["median"])
            for n, rec in sorted(points.items())
            if contender in rec and "wall_seconds" in rec[contender]
        ]
        if len(xy) >= 2:
            out[contender] = {**fit_line(xy), "exponent": growth_exponent(xy)}
    return out


# ------------------------------------------------------------------------------------------ the lab side


class ScaleLab:
    """One Lab on one plane, holding the platform of each N in turn."""

    def __init__(self, plane: str, work: Path, latency_ms: float) -> None:
        self.work = work
        settings = LabSettings(
            state_dir=work / "lab", model_ready_delay=0.5, workload_ready_delay=1.0, model_loading="stand-in"
        )
        self.lab = Lab(settings, mlflow=False, platform=None, control_plane=plane, progress=lambda _: None)  # type: ignore[arg-type]
        self.latency_ms = latency_ms
        self.api: ApiClient | None = None

    def start(self) -> None:
        self.lab.start()
        self.api = self.lab.api("bench-scale")
        install_crds(self.api)
        if self.latency_ms:
            self.lab.update_faults({"latency_ms": self.latency_ms})

    def stop(self) -> None:
        if self.api is not None:
            self.api.close()
        self.lab.stop()

    @property
    def request_log(self) -> Path:
        return self.lab.state.request_log

    def scheduler(self, down: bool) -> None:
        self.lab.admin("/lab/controllers", {"name": SCHEDULER, "down": down})

    def install(self, manifest: Path) -> None:
        """The platform applied with the bench's own client (not counted)."""
        assert self.api is not None
        apply_documents(self.api, load_yaml_documents(manifest.read_text(encoding="utf-8")))

    def wait_ready(self, namespace: str, n: int) -> None:
        """Every Model and Experiment Ready with its finalizer back: the state each run starts from."""
        assert self.api is not None
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        kinds = [self.api.require("mlops.seldon.io/v1alpha1", k) for k in ("Model", "Experiment")]
        while time.monotonic() < deadline:
            counts = []
            for rt in kinds:
                items, _ = self.api.list(rt, namespace)
                counts.append(sum(1 for o in items if _ready(o) and o["metadata"].get("finalizers")))
            if counts == [n, n]:
                return
            time.sleep(0.5)  # setup, not measured
        raise RuntimeError(f"the {n}-model platform in {namespace} did not become Ready ({counts})")

    def namespace_uid(self, namespace: str) -> str | None:
        assert self.api is not None
        found = self.api.get_or_none(self.api.require("v1", "Namespace"), None, namespace)
        return None if found is None else str(found["metadata"]["uid"])

    def remove(self, namespace: str) -> None:
        """Between sizes: the namespace deleted with the scheduler up, so nothing sticks."""
        assert self.api is not None
        rt = self.api.require("v1", "Namespace")
        try:
            self.api.delete(rt, None, namespace)
        except Exception:  # gone already
            return
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while self.namespace_uid(namespace) is not None and time.monotonic() < deadline:
            time.sleep(0.5)


def _ready(obj: Mapping[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class SchedulerReturn:
    """Brings the scheduler back once the namespace is gone: the rebuild reinstalls the operator. Gone means
    the namespace of the uid it had when the run started: drkit recreates it within milliseconds, faster
    than any poll would see it missing."""

    def __init__(self, scale: ScaleLab, namespace: str) -> None:
        self._scale, self._namespace = scale, namespace
        self._uid = scale.namespace_uid(namespace)
        self._stop = threading.Event()
        self.returned_at: float | None = None
        self._thread = threading.Thread(target=self._loop, name="bench-scheduler-return", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(GONE_POLL_SECONDS):
            if self._scale.namespace_uid(self._namespace) != self._uid:
                self._scale.scheduler(False)
                self.returned_at = time.time()
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.returned_at is None:
            self._scale.scheduler(False)


# ------------------------------------------------------------------------------------------ one run


def _argv(contender: Contender, playbook: Path, manifest: Path, n: int, kubeconfig: Path) -> list[str]:
    if contender == "drkit":
        return [sys.executable, "-m", "drkit", "drill", str(playbook), "--yes", "-o", "json",
                "--kubeconfig", str(kubeconfig)]  # fmt: skip
    return ["bash", str(BASELINE_SCRIPT), str(manifest), namespace_for(n), str(n)]


def _env(work: Path, scale: ScaleLab, settings: Settings) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "DRKIT_", "MLFLOW_"))}
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        KUBECONFIG=str(scale.lab.kubeconfig_path),
        KUBECACHEDIR=str(work / "kube-cache"),
        DRKIT_HOME=str(work / "drkit-home"),
        KUBECTL=find_kubectl(),
        POLL_SECONDS=f"{settings.poll:g}",
    )
    return env


def run_once(
    scale: ScaleLab, contender: Contender, n: int, index: int, point: Path, settings: Settings
) -> dict[str, Any]:
    namespace = namespace_for(n)
    work = Path(tempfile.mkdtemp(prefix=f"run-{contender}-{index}-", dir=point))
    scale.wait_ready(namespace, n)
    scale.scheduler(True)
    back = SchedulerReturn(scale, namespace)
    try:
        outcome = run_process(
            _argv(
                contender,
                point / "playbook.yaml",
                point / "base" / "platform.yaml",
                n,
                scale.lab.kubeconfig_path,
            ),
            _env(work, scale, settings),
            cwd=point,
            out_dir=work,
            timeout=settings.run_timeout,
        )
    finally:
        back.stop()
    result = {"contender": contender, "n": n, "run": index, **measure(contender, outcome, scale.request_log)}
    if not settings.keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def measure(contender: Contender, outcome: ProcessOutcome, request_log: Path) -> dict[str, Any]:
    if contender == "drkit":
        report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
        phases = drkit_phases(report)
        ok = outcome.exit_code == 0 and report.get("outcome") == "succeeded"
    else:
        phases = baseline_phases(parse_markers(outcome.stdout))
        ok = outcome.exit_code == 0 and "rebuild" in phases
    with request_log.open(encoding="utf-8") as lines:
        requests = count_requests(lines, outcome.started, outcome.finished)
    return {
        "ok": ok,
        "exit_code": outcome.exit_code,
        "timed_out": outcome.timed_out,
        "error": "" if ok else (outcome.stderr[-1500:] + outcome.stdout[-1500:]),
        "wall_seconds": round(outcome.finished - outcome.started, 3),
        "phases": {p: round(v, 3) for p, v in phases.items()},
        "requests": requests,
        "peak_rss_mib": {
            "process": round(outcome.vm_hwm_kib / 1024, 1),
            "tree_largest": round(outcome.tree_maxrss_kib / 1024, 1),
        },
        "cpu_seconds": outcome.cpu_seconds,
    }


def run_plane(plane: str, sizes: Sequence[int], runs: Mapping[int, int], contenders: Sequence[Contender],
              settings: Settings, log: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix=f"drkit-scale-{plane}-"))
    scale = ScaleLab(plane, work, settings.latency_ms)
    all_runs: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    try:
        started = time.monotonic()
        scale.start()
        info = {
            "lab_start_seconds": round(time.monotonic() - started, 1),
            "version": scale.lab.control_plane_version,
        }
        artifact = write_artifact(work / "artifact")
        for n in sizes:
            point = work / f"n{n}"
            manifest = write_base(point / "base", n, artifact)
            write_playbook(point / "playbook.yaml", n, CONTEXT_NAME)
            t0 = time.monotonic()
            scale.install(manifest)
            scale.wait_ready(namespace_for(n), n)
            ready_in = time.monotonic() - t0
            print(f"[{plane}] N={n}: {n * OBJECTS_PER_MODEL + 2} objects Ready in {ready_in:.1f} s", file=log)
            for index in range(1, runs[n] + 1):
                for contender in contenders:  # alternating, so a slow spell of the machine hits both
                    try:
                        run = run_once(scale, contender, n, index, point, settings)
                    except Exception as exc:  # a broken run is recorded, the others go on
                        run = {"contender": contender, "n": n, "run": index, "ok": False, "error": repr(exc)}
                    run["plane"] = plane
                    status = "ok" if run.get("ok") else f"FAILED: {str(run.get('error'))[-300:]}"
                    total = (run.get("requests") or {}).get("total")
                    line = (
                        f"[{plane}] N={n} {contender} #{index}: {run.get('wall_seconds')} s, {total} requests"
                    )
                    print(f"{line}: {status}", file=log, flush=True)
                    all_runs.append(run)
            scale.remove(namespace_for(n))
    finally:
        scale.stop()
        if not settings.keep:
            shutil.rmtree(work, ignore_errors=True)
    return all_runs, info


# ------------------------------------------------------------------------------------------ output


def plot(points: Mapping[str, Mapping[int, Mapping[str, Any]]], path: Path) -> bool:
    """Wall time against N, both contenders, one line per plane (log-log). False without matplotlib."""
    try:
        import matplotlib  # noqa: PLC0415 (optional: the charts extra)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = {"drkit": "tab:blue", "baseline": "tab:orange"}
    lines = {"emulated": "-o", "real": "--s"}  # one colour per contender, one line style per plane
    for plane, by_n in points.items():
        for contender, colour in colours.items():
            xy = [
                (n, rec[contender]["wall_seconds"]["median"])
                for n, rec in sorted(by_n.items())
                if contender in rec
            ]
            if xy:
                style = lines.get(plane, "-")
                ax.plot(
                    [x for x, _ in xy],
                    [y for _, y in xy],
                    style,
                    color=colour,
                    label=f"{contender} ({plane})",
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("stuck Models (each with an Experiment; 5 objects per Model)")
    ax.set_ylabel("teardown + rebuild wall time (s)")
    ax.set_title("drkit against seed 003 scripted with kubectl")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def print_table(points: Mapping[str, Mapping[int, Mapping[str, Any]]], out: Any = sys.stdout) -> None:
    head = (
        f"{'plane':<9}{'N':>6}  {'contender':<9}{'wall s':>10}{'teardown':>10}{'rebuild':>10}{'requests':>10}"
        f"{'LIST':>7}{'GET':>7}{'RSS MiB':>9}{'CPU s':>8}"
    )
    print(head, file=out)
    for plane, by_n in points.items():
        for n, rec in sorted(by_n.items()):
            for contender in CONTENDERS:
                m = rec.get(contender)
                if not m:
                    continue

                def med(key: str, m: Mapping[str, Any] = m) -> str:
                    return f"{m[key]['median']:g}" if key in m else "-"

                print(
                    f"{plane:<9}{n:>6}  {contender:<9}{med('wall_seconds'):>10}{med('phases.teardown'):>10}"
                    f"{med('phases.rebuild'):>10}{med('requests.total'):>10}{med('requests.by_verb.list'):>7}"
                    f"{med('requests.by_verb.get'):>7}{med('peak_rss_mib.process'):>9}{med('cpu_seconds'):>8}",
                    file=out,
                )


def _earlier(path: Path) -> dict[str, Any]:
    try:
        earlier: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return earlier if earlier.get("benchmark") == "scale" else {}


def merged(earlier: Mapping[str, Any], fresh: Mapping[str, Any]) -> dict[str, Any]:
    """The planes measured now replace theirs in the earlier results; the other planes stay as they were,
    so one plane can be measured again (or alone) without losing the other's figures."""
    now = set(fresh["planes"])
    keep = {p: v for p, v in (earlier.get("planes") or {}).items() if p not in now}
    return {
        "benchmark": "scale",
        "planes": {**keep, **fresh["planes"]},
        "points": [*(x for x in earlier.get("points") or [] if x["plane"] in keep), *fresh["points"]],
        "runs": [*(r for r in earlier.get("runs") or [] if r.get("plane") in keep), *fresh["runs"]],
    }


def points_by_plane(result: Mapping[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    by_plane: dict[str, dict[int, dict[str, Any]]] = {}
    for point in result["points"]:
        rec = {k: v for k, v in point.items() if k not in ("plane", "n")}
        by_plane.setdefault(point["plane"], {})[int(point["n"])] = rec
    return by_plane


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--planes", default="emulated,real", help="comma-separated (emulated,real)")
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of stuck Models (10,100,1000)")
    parser.add_argument("--runs", default="3,2,1", help="runs per contender for each size (3,2,1)")
    parser.add_argument("--contenders", default="drkit,baseline")
    parser.add_argument("--poll", type=float, default=2.0, help="the baseline's sleep between polls (2)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every user request (0)")
    parser.add_argument("--keep", action="store_true", help="keep the lab and run directories")
    parser.add_argument(
        "--run-timeout", type=float, default=1800.0, help="a run is killed after this (1800 s)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    sizes = _ints(args.sizes)
    counts = _ints(args.runs)
    if len(counts) != len(sizes):
        parser.error("--runs needs one count per size")
    chosen = [c for c in CONTENDERS if c in args.contenders.split(",")]
    settings = Settings(
        poll=args.poll, latency_ms=args.latency_ms, keep=args.keep, run_timeout=args.run_timeout
    )
    runs: list[dict[str, Any]] = []
    planes: dict[str, Any] = {}
    points: dict[str, dict[int, dict[str, Any]]] = {}
    for plane in [p for p in PLANES if p in args.planes.split(",")]:
        plane_runs, info = run_plane(
            plane, sizes, dict(zip(sizes, counts, strict=True)), chosen, settings, sys.stderr
        )
        runs += plane_runs
        points[plane] = {n: summarize_point([r for r in plane_runs if r["n"] == n]) for n in sizes}
        planes[plane] = {**info, "growth": growth(points[plane])}
    measured = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m bench.scale " + " ".join(argv or []),
        "settings": {
            "sizes": sizes,
            "runs": counts,
            "baseline_poll_seconds": args.poll,
            "latency_ms": args.latency_ms,
            "objects_per_model": OBJECTS_PER_MODEL,
            "model_loading": "stand-in",
            "controller_delays": {"model_ready_delay": 0.5, "workload_ready_delay": 1.0},
        },
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
    }
    fresh = {
        "planes": {plane: {**measured, **info} for plane, info in planes.items()},
        "points": [
            {"plane": p, "n": n, **rec} for p, by_n in points.items() for n, rec in sorted(by_n.items())
        ],
        "runs": runs,
    }
    result = merged(_earlier(args.out), fresh)
    print_table(points)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if plot(points_by_plane(result), args.plot):
        print(f"wrote {args.plot}")
    return 0 if runs and all(r.get("ok") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
