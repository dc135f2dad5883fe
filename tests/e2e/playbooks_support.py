"""Support for the end-to-end tests of the shipped financial-mlops playbooks (tests/e2e/test_playbooks.py).

Everything works against any cluster reached through a kubeconfig, with the financial-mlops platform and an
MLflow server, except the helpers whose names start with `lab_`: they build a lab or reach into one (a
controller outage, its request log).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from e2e_cluster import Plane
from helpers import REPO_ROOT, DrkitResult, run_drkit
from lab_helpers import LabHandle

from drkit.engine.journal import read_journal
from drkit.kube import Cluster, ClusterConfig

PLAYBOOKS = REPO_ROOT / "playbooks"
DRILL = PLAYBOOKS / "financial-mlops.yaml"
RECOVER = PLAYBOOKS / "financial-mlops-recover.yaml"
VALIDATE = PLAYBOOKS / "financial-mlops-validate.yaml"
SCENARIOS = PLAYBOOKS / "financial-mlops-failure-scenarios.yaml"
SELDON = "mlops.seldon.io/v1alpha1"
ARGO = "argoproj.io/v1alpha1"
INFERENCE = "financial-inference"
PIPELINES_NS = "financial-mlops-pytorch"
MODELS = ("baseline-predictor", "enhanced-predictor")
MLFLOW3_URI = re.compile(r"^s3://mlflow-artifacts/\d+/models/m-[0-9a-f]{32}/artifacts$")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Platform:
    """The platform under test: its kubeconfig, its MLflow, a cluster client, and a scratch directory."""

    def __init__(self, kubeconfig: Path, mlflow_uri: str, cluster: Cluster, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.mlflow_uri = mlflow_uri
        self.cluster = cluster
        self.workdir = workdir

    def copy_manifests(self, name: str) -> Path:
        """A private copy of manifests/ (the playbooks rewrite model URIs in it); returns its platform dir."""
        target = self.workdir / name
        shutil.copytree(REPO_ROOT / "manifests", target / "manifests")
        return target / "manifests" / "financial-mlops"

    def drkit(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str | None] | None = None
    ) -> DrkitResult:
        return run_drkit(*args, "--kubeconfig", str(self.kubeconfig), cwd=cwd or self.workdir, env=env)

    def run_args(self, manifests: Path | None = None) -> list[str]:
        """`--set` options for the playbooks' variables."""
        out = ["--set", f"mlflow_url={self.mlflow_uri}"]
        if manifests is not None:
            out += ["--set", f"manifests={manifests}"]
        return out

    def model(self, name: str) -> dict[str, Any] | None:
        return self.cluster.get(SELDON, "Model", name, INFERENCE)

    def model_uri(self, name: str) -> str:
        model = self.model(name)
        assert model is not None, f"Model {name} is missing"
        return str(model["spec"]["storageUri"])

    def server_memory_limit(self) -> str:
        server = self.cluster.get(SELDON, "Server", "mlserver", INFERENCE)
        assert server is not None
        return str(server["spec"]["podSpec"]["containers"][0]["resources"]["limits"]["memory"])

    def workflows(self, selector: str) -> list[dict[str, Any]]:
        return self.cluster.list(ARGO, "Workflow", PIPELINES_NS, label_selector=selector)


def open_cluster(kubeconfig: Path) -> Cluster:
    return Cluster(ClusterConfig.from_env({"KUBECONFIG": str(kubeconfig)}))


def steps(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step of a JSON report by `phase/step`."""
    return {f"{p['name']}/{s['name']}": s for p in report["phases"] for s in p["steps"]}


def items(step: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A check step's checklist items by name."""
    return {i["name"]: i for i in step.get("checklistItems") or []}


def manifest_uris(manifests: Path) -> dict[str, str]:
    """Model name -> spec.storageUri in a copy's seldon-models.yaml (the lines the playbooks rewrite)."""
    text = (manifests / "base" / "seldon-models.yaml").read_text(encoding="utf-8")
    names = re.findall(r"^  name: (\S+)$", text, flags=re.MULTILINE)
    uris = re.findall(r"^  storageUri: (\S+)$", text, flags=re.MULTILINE)
    return dict(zip(names, uris, strict=True))


def explain(result: DrkitResult) -> str:
    return f"exit {result.exit_code}\nstdout:\n{result.stdout[-6000:]}\nstderr:\n{result.stderr[-6000:]}"


# --- lab only -------------------------------------------------------------------------------------------


def lab_start_platform(state_dir: Path, plane: Plane, *, mlflow_basic_auth: bool = False) -> LabHandle:
    """Lab only: a private lab on `plane` with MLflow and the financial-mlops platform installed (models
    trained); with `mlflow_basic_auth`, MLflow is its basic-auth app (credentials:
    `handle.lab.mlflow_client_env`)."""
    from drkit_lab.runner import Lab  # noqa: PLC0415 (lab-only)
    from drkit_lab.settings import LabSettings  # noqa: PLC0415

    settings = LabSettings(
        state_dir=state_dir, workload_ready_delay=0.2, model_ready_delay=0.1, step_delay=0.1
    )
    lab = Lab(
        settings,
        mlflow=True,
        mlflow_basic_auth=mlflow_basic_auth,
        platform="financial-mlops",
        control_plane=plane,
    ).start()
    assert lab.mlflow_uri is not None
    return LabHandle(lab, lab.kubeconfig_path, lab.api_url, lab.mlflow_uri, lab.ca_path, lab.token)


def lab_controller_outage(handle: LabHandle, controller: str, seconds: float) -> None:
    """Lab only: take a controller down for `seconds` (a crashed operator that restarts by itself)."""
    handle.lab.admin("/lab/controllers", {"name": controller, "down": True, "for": seconds})


@contextmanager
def lab_models_stuck_until_unstuck(handle: LabHandle, workdir: Path) -> Iterator[None]:
    """Lab only: seed 003's stuck teardown. The Seldon scheduler is down (the Models it owns keep their
    finalizers) from now until a drill started in the block under `workdir` has journaled
    teardown/unstick-finalizers finished, or the block ends: however long drkit takes to get there on a
    loaded machine, and serving again as soon as drkit is done with it."""
    earlier = runs_of(workdir)
    handle.lab.admin("/lab/controllers", {"name": "seldon-scheduler", "down": True})
    over = threading.Event()

    def up_once_unstuck() -> None:
        while not over.wait(0.1):  # another run's journal: there is no event to wait on from here
            if any(_finished(run, "teardown", "unstick-finalizers") for run in runs_of(workdir) - earlier):
                break
        handle.lab.admin("/lab/controllers", {"name": "seldon-scheduler", "down": False})

    watcher = threading.Thread(target=up_once_unstuck, name="scheduler-outage", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        over.set()
        watcher.join()


def _finished(run: Path, phase: str, name: str) -> bool:
    journal = run / "journal.jsonl"
    return journal.exists() and shows_finished(read_journal(journal), phase, name)


def shows_finished(events: list[dict[str, Any]], phase: str, name: str) -> bool:
    """Whether a journal's events record step `phase`/`name` finished."""
    return any(
        e["event"] == "step-finished" and (e["step"]["phase"], e["step"]["name"]) == (phase, name)
        for e in events
    )


def lab_write_requests(handle: LabHandle) -> int:
    """Lab only: how many write requests the lab's API server has answered so far. A POST through a
    Service's proxy (an inference request) reaches the model server, not the cluster: it writes nothing."""
    log = handle.lab.state.request_log
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    entries = [json.loads(line) for line in lines if line.strip()]
    return sum(
        1
        for entry in entries
        if str(entry.get("method", "")).upper() in WRITE_METHODS and "/proxy/" not in str(entry.get("path"))
    )


def runs_of(workdir: Path) -> set[Path]:
    """The run directories drkit has made under `workdir` so far."""
    return set(Path(workdir, ".drkit", "runs").glob("*"))


def wait_for_step_start(
    workdir: Path, process: subprocess.Popen[str], step: str, earlier: set[Path], seconds: float = 300
) -> None:
    """Return once the journal of `process`'s run (a run directory not in `earlier`) shows `step`
    (phase/name) started; fail if the process ends first."""
    phase, name = step.split("/")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        for run in runs_of(workdir) - earlier:
            journal = run / "journal.jsonl"
            events = read_journal(journal) if journal.exists() else []
            if any(
                e["event"] == "step-started" and e.get("phase") == phase and e.get("name") == name
                for e in events
            ):
                return
        time.sleep(0.05)  # observing another process's journal: there is no event to wait on from here
    out, err = process.communicate() if process.poll() is not None else ("", "")
    ended = f"exit {process.returncode}: {out[-3000:]}{err[-3000:]}"
    raise AssertionError(f"the drill never started {step} ({ended})")


T = TypeVar("T")


def model_ready(obj: dict[str, Any] | None) -> bool:
    """Whether a Model (or any object with conditions) says Ready=True."""
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def wait_until(condition: Callable[[], T], seconds: float = 30, every: float = 0.1) -> T:
    """The first truthy value of `condition`, asked every `every` s; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {seconds}s")
