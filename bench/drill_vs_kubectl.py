"""drkit against the seed's scripted-kubectl procedure: the same drill, the same lab, the same outage.

Each run starts a fresh Lab in this process (API server, controllers, real MLflow, the financial-mlops
platform trained and Ready), takes the Seldon scheduler down for `--outage` seconds (so deleting the
platform leaves Models stuck on their finalizers, as in seed 003), then runs one contender as a subprocess
against it:

- drkit: `python -m drkit drill playbooks/financial-mlops.yaml --yes -o json` on a copy of manifests/;
- baseline: bench/baseline/seed003_procedure.sh, the seed's procedure driving the real kubectl, curl and
  `python3 -c`, with sleep-poll loops; it prints `@@ <event> <epoch>` markers.

Measured per run: wall time, per phase (drkit's JSON report; the baseline's markers); API requests by verb
(the lab's requests.jsonl, between the contender's start and end); readiness-detection lag (when the contender
noticed a state, minus when the lab's store changed to it, taken from an in-process watch on the store);
peak RSS (VmHWM of the contender's own process, sampled, and ru_maxrss of its process tree from wait4); CPU
time of the tree; the platform's own time on the critical path and the contender's overhead (see
`platform_seconds`). Runs alternate between contenders; each lab is stopped and its directory removed.

    python -m bench.drill_vs_kubectl [--runs 3] [--outage 15] [--poll 2] [--contenders drkit,baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from drkit_lab.platforms.financial_mlops import find_kubectl
from drkit_lab.runner import Lab
from drkit_lab.settings import LabSettings

REPO = Path(__file__).resolve().parent.parent
PLAYBOOK = REPO / "playbooks" / "financial-mlops.yaml"
MANIFESTS = REPO / "manifests"
BASELINE_SCRIPT = Path(__file__).resolve().parent / "baseline" / "seed003_procedure.sh"
RESULTS = Path(__file__).resolve().parent / "results"


def results_path(control_plane: str, latency_ms: float) -> Path:
    """Where a run's results go by default: one file per control plane and added latency, so measuring one
    set-up never overwrites another's committed figures."""
    name = "drill_vs_kubectl"
    if control_plane != "emulated":
        name += f"_{control_plane}"
    if latency_ms:
        name += f"_{latency_ms:g}ms"
    return RESULTS / f"{name}.json"


PHASES = ("teardown", "rebuild", "pipelines", "deploy", "validate")
OUTAGE_CONTROLLER = "seldon-scheduler"
SERVING_NS = "financial-inference"
PIPELINES_NS = "financial-mlops-pytorch"
RUN_TIMEOUT_SECONDS = 600.0  # one contender's run; a hung run is killed and reported as failed
SAMPLE_SECONDS = 0.1  # how often the contender's VmHWM is read
# The recorder stamps an event when its thread takes it off the store's queue, a few ms after the write;
# a contender may notice a state up to this long before our stamp of it.
STAMP_TOLERANCE_SECONDS = 0.05

Contender = Literal["drkit", "baseline"]
CONTENDERS: tuple[Contender, ...] = ("drkit", "baseline")
WATCHED_KINDS = frozenset({"Namespace", "Model", "Server", "Experiment", "Workflow"})

# ------------------------------------------------------------------------------------------------ requests


def classify_request(record: Mapping[str, Any]) -> str:
    """A requests.jsonl record -> discovery|list|watch|get|create|update|patch|delete|other."""
    method = str(record.get("method", "")).upper()
    path = str(record.get("path", ""))
    query = str(record.get("query", ""))
    segments = [s for s in path.split("/") if s]
    if not segments or segments[0] not in {"api", "apis"}:
        return "discovery" if segments and segments[0] in {"openapi", "version"} else "other"
    prefix = 2 if segments[0] == "api" else 3  # /api/v1/... or /apis/<group>/<version>/...
    rest = segments[prefix:]
    if not rest:
        return "discovery"
    if method == "GET":
        if record.get("watch") or "watch=true" in query or "watch=1" in query:
            return "watch"
        if rest[0] == "namespaces" and len(rest) >= 3:
            rest = rest[2:]  # a namespaced resource: drop namespaces/<ns>
        return "list" if len(rest) == 1 else "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "other")


WRITE_VERBS = ("create", "update", "patch", "delete")


def count_requests(lines: Iterable[str], start: float, end: float) -> dict[str, Any]:
    """Count the API requests that arrived in [start, end] by kind of request and by client (User-Agent)."""
    by_verb: Counter[str] = Counter()
    by_client: Counter[str] = Counter()
    errors = 0
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        if not start <= float(record.get("time", 0.0)) <= end:
            continue
        by_verb[classify_request(record)] += 1
        by_client[str(record.get("user_agent", "")).split("/", 1)[0] or "unknown"] += 1
        errors += int(record.get("status", 0)) >= 400
    return {
        "total": sum(by_verb.values()),
        "writes": sum(by_verb[v] for v in WRITE_VERBS),
        "by_verb": dict(sorted(by_verb.items())),
        "by_client": dict(sorted(by_client.items())),
        "errors": errors,
    }


# ------------------------------------------------------------------------------- what each contender saw


def parse_markers(text: str) -> dict[str, float]:
    """`@@ <event> <epoch seconds>` lines of the baseline script -> {event: time} (first occurrence wins)."""
    markers: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "@@":
            markers.setdefault(parts[1], float(parts[2]))
    return markers


def baseline_phases(markers: Mapping[str, float]) -> dict[str, float]:
    return {
        p: markers[f"phase-end:{p}"] - markers[f"phase-start:{p}"]
        for p in PHASES
        if f"phase-start:{p}" in markers and f"phase-end:{p}" in markers
    }


def baseline_noticed(markers: Mapping[str, float]) -> dict[str, float]:
    """{what: when the baseline's wait loop saw it}; keys as in `drkit_noticed`."""
    return {name.removeprefix("noticed:"): t for name, t in markers.items() if name.startswith("noticed:")}


def drkit_phases(report: Mapping[str, Any]) -> dict[str, float]:
    return {
        p["name"]: float(p["duration"]) for p in report.get("phases", []) if p.get("duration") is not None
    }


def _steps(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for p in report.get("phases", []) for s in p.get("steps", [])]


def drkit_noticed(report: Mapping[str, Any]) -> dict[str, float]:
    """When drkit saw each state, from its JSON report (absolute epoch seconds, like the baseline markers).

    namespaces-gone: the clearFinalizers step ends once it has watched both namespaces go;
    server-ready: the wait step's start plus the Server's readyAfterSeconds;
    workflow:<name>: the pipeline step that ran it ends when it saw the Workflow finish;
    models-ready: the last apply step with readiness, started plus the slower Model's readyAfterSeconds.
    """
    noticed: dict[str, float] = {}
    for step in _steps(report):
        kind, details = step.get("kind"), step.get("details") or {}
        if kind == "clearFinalizers" and step.get("finishedAt"):
            noticed["namespaces-gone"] = float(step["finishedAt"])
        elif kind == "wait":
            for obj in details.get("objects", []):
                if (
                    str(obj.get("object", "")).startswith("Server ")
                    and obj.get("readyAfterSeconds") is not None
                ):
                    noticed["server-ready"] = float(step["startedAt"]) + float(obj["readyAfterSeconds"])
        elif kind == "pipeline" and details.get("workflow") and step.get("finishedAt"):
            noticed[f"workflow:{details['workflow']}"] = float(step["finishedAt"])
        elif kind == "apply":
            models = [
                float(r["readyAfterSeconds"])
                for r in details.get("ready", [])
                if str(r.get("object", "")).startswith("Model ") and r.get("readyAfterSeconds") is not None
            ]
            if models:
                noticed["models-ready"] = float(step["startedAt"]) + max(models)
    return noticed


# ------------------------------------------------------------------------------ what the lab really did


@dataclass(frozen=True)
class StoreEvent:
    """One change of a watched object in the lab's store, stamped when the recorder saw it."""

    time: float
    type: str  # ADDED | MODIFIED | DELETED
    kind: str
    namespace: str
    name: str
    ready: bool  # Ready condition True (Workflows: phase Succeeded)
    storage_uri: str = ""


def event_from_object(stamp: float, event_type: str, obj: Mapping[str, Any]) -> StoreEvent:
    meta = obj.get("metadata", {})
    status = obj.get("status") or {}
    kind = str(obj.get("kind", ""))
    if kind == "Workflow":
        ready = status.get("phase") == "Succeeded"
    else:
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
        )
    return StoreEvent(
        stamp,
        event_type,
        kind,
        str(meta.get("namespace") or ""),
        str(meta.get("name", "")),
        ready,
        str((obj.get("spec") or {}).get("storageUri", "")),
    )


def _became_ready(events: Sequence[StoreEvent], kind: str, name: str, before: float) -> float | None:
    """The last time `kind/name` turned Ready at or before `before` (+ stamp tolerance)."""
    was, turned = False, None
    for ev in events:
        if ev.kind != kind or ev.name != name or ev.time > before + STAMP_TOLERANCE_SECONDS:
            continue
        now = ev.ready and ev.type != "DELETED"
        if now and not was:
            turned = ev.time
        was = now
    return turned


def truth_times(events: Sequence[StoreEvent], noticed: Mapping[str, float]) -> dict[str, float]:
    """For each state a contender noticed, when the lab's store actually reached it."""
    truth: dict[str, float] = {}
    for what, seen in noticed.items():
        at: float | None = None
        if what == "namespaces-gone":
            gone = [
                e.time
                for e in events
                if e.kind == "Namespace" and e.type == "DELETED" and e.name in {SERVING_NS, PIPELINES_NS}
            ]
            at = max(gone) if len(gone) >= 2 else None
        elif what == "server-ready":
            at = _became_ready(events, "Server", "mlserver", seen)
        elif what.startswith("workflow:"):
            at = _became_ready(events, "Workflow", what.split(":", 1)[1], seen)
        elif what == "models-ready":
            times = [
                _became_ready(events, "Model", n, seen) for n in ("baseline-predictor", "enhanced-predictor")
            ]
            at = max(t for t in times if t is not None) if all(t is not None for t in times) else None
        if at is not None:
            truth[what] = at
    return truth


def detection_lags(events: Sequence[StoreEvent], noticed: Mapping[str, float]) -> dict[str, float]:
    """noticed - truth per state; workflows folded into one mean `workflows` entry."""
    truth = truth_times(events, noticed)
    lags = {what: noticed[what] - at for what, at in truth.items()}
    flows = [lag for what, lag in lags.items() if what.startswith("workflow:")]
    out = {what: round(lag, 3) for what, lag in lags.items() if not what.startswith("workflow:")}
    if flows:
        out["workflows"] = round(statistics.fmean(flows), 3)
    return out


Interval = tuple[float, float]


def platform_intervals(
    events: Sequence[StoreEvent], start: float, end: float, outage: Interval | None = None
) -> dict[str, list[Interval]]:
    """When the platform itself was the reason the drill could not move on; no client can shorten these.

    outage: the scheduler was down (no Server or Model can become Ready, no finalizer is honoured);
    teardown: from the last finalizer-holding Seldon object going away to both namespaces gone (the namespace
      controller's share; clearing the finalizers is the contender's job, so it is not included);
    rebuild: from the Server's creation to its Ready;
    pipelines: each Workflow from creation to Succeeded (the real training jobs);
    deploy: from the last storageUri change of a Model to both Models Ready.
    """
    window = [e for e in events if start <= e.time <= end]
    out: dict[str, list[Interval]] = {}
    if outage is not None:
        out["outage"] = [outage]
    seldon_gone = [
        e.time for e in window if e.type == "DELETED" and e.kind in {"Model", "Experiment", "Server"}
    ]
    ns_gone = [e.time for e in window if e.kind == "Namespace" and e.type == "DELETED"]
    if ns_gone:
        out["teardown"] = [(max(seldon_gone, default=min(ns_gone)), max(ns_gone))]
    server_added = [e.time for e in window if e.kind == "Server" and e.type == "ADDED"]
    server_ready = _became_ready(window, "Server", "mlserver", end)
    if server_added and server_ready is not None:
        out["rebuild"] = [(max(server_added), server_ready)]
    flows: dict[str, list[float]] = {}
    for e in window:
        if e.kind == "Workflow" and e.namespace == PIPELINES_NS:
            times = flows.setdefault(e.name, [])
            if e.type == "ADDED" or (e.ready and len(times) == 1):
                times.append(e.time)
    out["pipelines"] = [(t[0], t[1]) for t in flows.values() if len(t) == 2]
    uri_changes = _uri_changes(window)
    models = [_became_ready(window, "Model", n, end) for n in ("baseline-predictor", "enhanced-predictor")]
    if uri_changes and all(t is not None for t in models):
        out["deploy"] = [(max(uri_changes), max(t for t in models if t is not None))]
    return out


def covered_seconds(intervals: Iterable[Interval], start: float, end: float) -> float:
    """Length of the union of `intervals` inside [start, end] (overlaps counted once)."""
    total, reach = 0.0, start
    for lo, hi in sorted((max(lo, start), min(hi, end)) for lo, hi in intervals):
        if hi <= reach:
            continue
        total += hi - max(lo, reach)
        reach = hi
    return total


def platform_seconds(
    intervals: Mapping[str, Sequence[Interval]], start: float, end: float
) -> dict[str, float]:
    """Seconds per kind of platform wait inside [start, end], and `critical_path`: their union.

    The contender's overhead is its wall time minus `critical_path`: process start-up, requests, diagnosis,
    sleep-poll intervals and grace periods that did not overlap a platform wait.
    """
    out = {name: covered_seconds(spans, start, end) for name, spans in intervals.items()}
    out["critical_path"] = covered_seconds([i for spans in intervals.values() for i in spans], start, end)
    return {k: round(v, 3) for k, v in out.items()}


def _uri_changes(events: Sequence[StoreEvent]) -> list[float]:
    """Times a Model got a storageUri different from its previous one (a re-created Model counts too)."""
    last: dict[str, str] = {}
    changes: list[float] = []
    for e in events:
        if e.kind != "Model" or e.type == "DELETED":
            continue
        if e.storage_uri and last.get(e.name) not in {None, e.storage_uri}:
            changes.append(e.time)
        last[e.name] = e.storage_uri
    return changes


def spread(values: Sequence[float]) -> dict[str, float]:
    """median, min, max (rounded) of a non-empty sequence."""
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


# --------------------------------------------------------------------------------------- running things


class EventRecorder:
    """Watches the in-process lab's store for the kinds the drill waits on and stamps every change."""

    def __init__(self, store: Any) -> None:
        self._sub = store.watch(None, None, store.resource_version())
        self._stop = threading.Event()
        self.events: list[StoreEvent] = []
        self._thread = threading.Thread(target=self._loop, name="bench-recorder", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            event = self._sub.next(0.2)
            if event is None:
                continue
            stamp = time.time()
            if event.rtype.kind in WATCHED_KINDS:
                self.events.append(event_from_object(stamp, event.type, event.object))

    def stop(self) -> list[StoreEvent]:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sub.close()
        return list(self.events)


# What the real control plane's recorder watches: the WATCHED_KINDS, by apiVersion.
WATCHED_TYPES = (
    ("v1", "Namespace"),
    ("mlops.seldon.io/v1alpha1", "Model"),
    ("mlops.seldon.io/v1alpha1", "Server"),
    ("mlops.seldon.io/v1alpha1", "Experiment"),
    ("argoproj.io/v1alpha1", "Workflow"),
)


class ApiEventRecorder:
    """EventRecorder for a lab whose store is not in this process (the real control plane): one watch per
    kind with the lab's own client (neither faulted nor logged), stamped as each event arrives. An event
    reaches it a little later than the in-process store's would (a hop through kube-apiserver's watch
    cache), which makes the lags it yields a few ms shorter than the truth, never longer."""

    def __init__(self, lab: Lab) -> None:
        self._api = lab.api("bench-recorder")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._streams: list[Any] = []
        self.events: list[StoreEvent] = []
        self._threads = []
        for api_version, kind in WATCHED_TYPES:
            rt = self._api.require(api_version, kind)
            _, version = self._api.list(rt)
            thread = threading.Thread(
                target=self._loop, args=(rt, version), name=f"bench-{kind}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, rt: Any, version: str) -> None:
        while not self._stop.is_set():
            try:
                stream = self._api.watch(rt, resource_version=version, timeout_seconds=300)
            except Exception:  # 410 or a broken connection: start again from now
                if self._stop.wait(0.1):
                    return
                _, version = self._api.list(rt)
                continue
            with self._lock:
                self._streams.append(stream)
            try:
                for event in stream:
                    version = event.resource_version or version
                    if event.type != "BOOKMARK":
                        self.events.append(event_from_object(time.time(), event.type, event.object))
            except Exception:  # the stream broke: watch again from the last version seen
                continue

    def stop(self) -> list[StoreEvent]:
        self._stop.set()
        with self._lock:
            for stream in self._streams:
                stream.close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._api.close()
        return sorted(self.events, key=lambda e: e.time)


@dataclass
class ProcessOutcome:
    exit_code: int
    started: float
    finished: float
    stdout: str
    stderr: str
    vm_hwm_kib: int  # the contender's own process
    tree_maxrss_kib: int  # the largest process of its tree (wait4)
    cpu_seconds: float  # user + system of the whole tree
    timed_out: bool = False


def _vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def run_process(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    out_dir: Path,
    timeout: float = RUN_TIMEOUT_SECONDS,
) -> ProcessOutcome:
    """Run argv to completion, sampling its VmHWM; rusage of the tree from wait4; output to files."""
    out_path, err_path = out_dir / "stdout.txt", out_dir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.time()
        proc = subprocess.Popen(
            argv, env=dict(env), cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        hwm, timed_out = 0, False
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            hwm = max(hwm, _vm_hwm_kib(proc.pid))
            if time.monotonic() > deadline and not timed_out:
                timed_out = True
                proc.kill()
            time.sleep(SAMPLE_SECONDS)
        finished = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen
    return ProcessOutcome(
        exit_code=proc.returncode,
        started=started,
        finished=finished,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        vm_hwm_kib=hwm,
        tree_maxrss_kib=usage.ru_maxrss,
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 3),
        timed_out=timed_out,
    )


@dataclass
class RunSettings:
    outage: float
    poll: float
    keep: bool = False
    control_plane: str = "emulated"
    latency_ms: float = 0.0
    log: Any = field(default=sys.stderr)


def _contender_argv(contender: Contender, manifests: Path, mlflow_url: str, lab: Lab) -> list[str]:
    if contender == "drkit":
        drill = [sys.executable, "-m", "drkit", "drill", str(PLAYBOOK), "--yes", "-o", "json"]
        return [
            *drill,
            *("--kubeconfig", str(lab.kubeconfig_path)),
            *("--set", f"manifests={manifests / 'financial-mlops'}"),
            *("--set", f"mlflow_url={mlflow_url}"),
        ]
    return ["bash", str(BASELINE_SCRIPT), str(manifests / "financial-mlops" / "base"), mlflow_url]


def _contender_env(work: Path, lab: Lab, settings: RunSettings) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "DRKIT_", "MLFLOW_"))}
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        KUBECONFIG=str(lab.kubeconfig_path),
        KUBECACHEDIR=str(work / "kube-cache"),  # kubectl's discovery cache: fresh per run, as on a new laptop
        DRKIT_HOME=str(work / "drkit-home"),
        MLFLOW_TRACKING_URI=str(lab.mlflow_uri),
        KUBECTL=find_kubectl(),
        PYTHON=sys.executable,
        POLL_SECONDS=f"{settings.poll:g}",
    )
    return env


def run_once(contender: Contender, index: int, settings: RunSettings) -> dict[str, Any]:
    """One lab, one outage, one contender; returns the run's measurements (lab stopped, directory removed)."""
    work = Path(tempfile.mkdtemp(prefix=f"drkit-bench-{contender}-"))
    result: dict[str, Any] = {
        "contender": contender,
        "run": index,
        "control_plane": settings.control_plane,
        "latency_ms": settings.latency_ms,
    }
    lab = Lab(
        LabSettings(state_dir=work / "lab"),
        port=0,
        platform="financial-mlops",
        progress=lambda _: None,
        control_plane=settings.control_plane,  # type: ignore[arg-type]
    )
    try:
        t0 = time.monotonic()
        try:
            lab.start()
            result["lab_start_seconds"] = round(time.monotonic() - t0, 1)
            assert lab.mlflow_uri is not None
            manifests = work / "manifests"
            shutil.copytree(MANIFESTS, manifests)
            if settings.latency_ms:
                lab.update_faults({"latency_ms": settings.latency_ms})
            recorder = (
                EventRecorder(lab.store) if settings.control_plane == "emulated" else ApiEventRecorder(lab)
            )
            try:
                lab.admin(
                    "/lab/controllers", {"name": OUTAGE_CONTROLLER, "down": True, "for": settings.outage}
                )
                outage_started = time.time()
                outage = (outage_started, outage_started + settings.outage)
                outcome = run_process(
                    _contender_argv(contender, manifests, lab.mlflow_uri, lab),
                    _contender_env(work, lab, settings),
                    cwd=work,
                    out_dir=work,
                )
            finally:
                events = recorder.stop()
        finally:
            lab.stop()  # closes requests.jsonl, so every request (watches included) is in it
        result.update(_measure(contender, outcome, events, work / "lab" / "requests.jsonl", outage))
    finally:
        if settings.keep:
            print(f"kept {work}", file=settings.log)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return result


def _measure(
    contender: Contender,
    outcome: ProcessOutcome,
    events: Sequence[StoreEvent],
    request_log: Path,
    outage: Interval,
) -> dict[str, Any]:
    if contender == "drkit":
        report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
        phases, noticed = drkit_phases(report), drkit_noticed(report)
        ok = outcome.exit_code == 0 and report.get("outcome") == "succeeded"
    else:
        markers = parse_markers(outcome.stdout)
        phases, noticed = baseline_phases(markers), baseline_noticed(markers)
        ok = outcome.exit_code == 0 and "phase-end:validate" in markers
    wall = outcome.finished - outcome.started
    with request_log.open(encoding="utf-8") as lines:
        requests = count_requests(lines, outcome.started, outcome.finished)
    intervals = platform_intervals(events, outcome.started, outcome.finished, outage)
    platform_time = platform_seconds(intervals, outcome.started, outcome.finished)
    return {
        "ok": ok,
        "exit_code": outcome.exit_code,
        "timed_out": outcome.timed_out,
        "error": "" if ok else outcome.stderr[-2000:],
        "wall_seconds": round(wall, 3),
        "phases": {p: round(phases[p], 3) for p in PHASES if p in phases},
        "requests": requests,
        "detection_lag_seconds": detection_lags(events, noticed),
        "platform_seconds": platform_time,
        "overhead_seconds": round(wall - platform_time["critical_path"], 3),
        "peak_rss_mib": {
            "process": round(outcome.vm_hwm_kib / 1024, 1),
            "tree_largest": round(outcome.tree_maxrss_kib / 1024, 1),
        },
        "cpu_seconds": outcome.cpu_seconds,
    }


# ------------------------------------------------------------------------------------------- summary


def _get(run: Mapping[str, Any], path: str) -> float | None:
    value: Any = run
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return float(value) if isinstance(value, int | float) else None


SUMMARY_METRICS = (
    "wall_seconds",
    *(f"phases.{p}" for p in PHASES),
    "overhead_seconds",
    "platform_seconds.critical_path",
    "requests.total",
    "requests.writes",
    *(f"requests.by_verb.{v}" for v in ("discovery", "get", "list", "watch", *WRITE_VERBS)),
    *(f"detection_lag_seconds.{w}" for w in ("namespaces-gone", "server-ready", "workflows", "models-ready")),
    "peak_rss_mib.process",
    "peak_rss_mib.tree_largest",
    "cpu_seconds",
)


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """{contender: {metric: spread}} over the successful runs; a verb a run never used counts as 0."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for contender in CONTENDERS:
        good = [r for r in runs if r["contender"] == contender and r.get("ok")]
        if not good:
            continue
        metrics: dict[str, dict[str, float]] = {}
        for metric in SUMMARY_METRICS:
            values = [_get(r, metric) for r in good]
            if metric.startswith("requests.by_verb."):
                values = [v or 0.0 for v in values]
            present = [v for v in values if v is not None]
            if present:
                metrics[metric] = spread(present)
        summary[contender] = metrics
    return summary


def ratios(summary: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, float]:
    """baseline median / drkit median for the headline metrics (>1: drkit is smaller)."""
    out: dict[str, float] = {}
    if "drkit" not in summary or "baseline" not in summary:
        return out
    for metric in ("wall_seconds", "overhead_seconds", "requests.total", "requests.writes", "cpu_seconds"):
        d, b = summary["drkit"].get(metric), summary["baseline"].get(metric)
        if d and b and d["median"] > 0:
            out[metric] = round(b["median"] / d["median"], 2)
    return out


def print_table(summary: Mapping[str, Mapping[str, Mapping[str, float]]], out: Any = sys.stdout) -> None:
    names = [c for c in CONTENDERS if c in summary]
    print(f"{'metric (median [min-max])':<40}" + "".join(f"{n:>24}" for n in names), file=out)
    for metric in SUMMARY_METRICS:
        cells = []
        for n in names:
            s = summary[n].get(metric)
            cells.append(f"{s['median']:g} [{s['min']:g}-{s['max']:g}]" if s else "-")
        print(f"{metric:<40}" + "".join(f"{c:>24}" for c in cells), file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drill_vs_kubectl", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (default 3)")
    parser.add_argument("--outage", type=float, default=15.0, help="Seldon scheduler outage, seconds (15)")
    parser.add_argument("--poll", type=float, default=2.0, help="the baseline's sleep between polls (2)")
    parser.add_argument("--contenders", default="drkit,baseline", help="comma-separated (drkit,baseline)")
    parser.add_argument("--keep", action="store_true", help="keep each run's directory (lab state, logs)")
    parser.add_argument("--control-plane", choices=("emulated", "real"), default="emulated")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every request of the contender"
    )
    parser.add_argument(
        "--out", type=Path, help="default: bench/results/drill_vs_kubectl[_real][_<latency>ms].json"
    )
    args = parser.parse_args(argv)
    out: Path = args.out or results_path(args.control_plane, args.latency_ms)
    chosen = [c for c in CONTENDERS if c in args.contenders.split(",")]
    settings = RunSettings(
        outage=args.outage,
        poll=args.poll,
        keep=args.keep,
        control_plane=args.control_plane,
        latency_ms=args.latency_ms,
    )
    runs: list[dict[str, Any]] = []
    for index in range(1, args.runs + 1):
        for contender in chosen:  # alternate, so a slow spell of the machine hits both
            print(f"run {index}/{args.runs}: {contender} ...", file=sys.stderr, flush=True)
            try:
                run = run_once(contender, index, settings)
            except Exception as exc:  # a lab that did not start: record it, keep the other runs
                run = {"contender": contender, "run": index, "ok": False, "error": repr(exc)}
            status = "ok" if run.get("ok") else f"FAILED (exit {run.get('exit_code')})"
            print(f"  {status}: {run.get('wall_seconds')} s", file=sys.stderr, flush=True)
            runs.append(run)
    summary = summarize(runs)
    result = {
        "benchmark": "drill_vs_kubectl",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "python -m bench.drill_vs_kubectl " + " ".join(argv or []),
        "settings": {
            "runs": args.runs,
            "outage_seconds": args.outage,
            "baseline_poll_seconds": args.poll,
            "control_plane": args.control_plane,
            "latency_ms": args.latency_ms,
        },
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "summary": summary,
        "ratios_baseline_over_drkit": ratios(summary),
        "runs": runs,
    }
    print_table(summary)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0 if all(r.get("ok") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
