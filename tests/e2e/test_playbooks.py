"""End to end: the shipped financial-mlops playbooks, through the real `drkit` CLI and a kubeconfig.

One private lab (MLflow plus the platform, models trained) on the real control plane serves the whole module,
and the tests run in file order from the gentlest to the most destructive: the read-only validation;
validation failing once a Model is deleted; the recovery runbook repairing that, crashed and resumed
mid-pipelines; the full drill, teardown included; the full drill again, killed at every crash point and
resumed, which must end in the state the fault-free drill left. Each test still sets up the damage (or the
reference) it needs itself, so any one runs alone. Only `lab_*` helpers (tests/e2e/playbooks_support.py) are
lab-specific. The scenarios playbook's bad models are tests/e2e/test_model_failure_scenarios.py.
"""

from __future__ import annotations

import json
import signal
import sys
import time

import pytest
import yaml
from cluster_state import State, compare, snapshot, workflows_per_step
from crash_support import CRASH_POINTS, run_with_crashes
from helpers import run_drkit, start_drkit
from lab_helpers import LabHandle
from playbooks_support import (
    ARGO,
    DRILL,
    INFERENCE,
    MLFLOW3_URI,
    MODELS,
    PIPELINES_NS,
    RECOVER,
    SELDON,
    VALIDATE,
    Platform,
    explain,
    items,
    lab_models_stuck_until_unstuck,
    lab_write_requests,
    manifest_uris,
    steps,
    wait_until,
)

from drkit.kube import ObjectRef
from drkit.steps.pipeline import RUN_ID_LABEL, STEP_LABEL

pytestmark = [
    pytest.mark.real_plane,
    pytest.mark.lab_only,
    pytest.mark.mlflow,
]  # the shipped playbooks target the lab

PIPELINE_STEPS = ("pipelines.data-pipeline", "pipelines.train-baseline", "pipelines.train-enhanced")


@pytest.fixture(scope="module")
def fault_free_drill() -> dict[str, State]:
    """The cluster state the full drill left, fault-free: the crash suite's reference (filled by the drill's
    test; the crash suite runs its own fault-free drill first when run alone)."""
    return {}


def _validate(platform: Platform, *extra: str) -> tuple[int, dict[str, dict[str, object]], str]:
    # MLflow's address as `eval "$(drkit lab env)"` exports it: the playbook reads it, no --set needed.
    env = {"MLFLOW_TRACKING_URI": platform.mlflow_uri}
    result = platform.drkit("check", str(VALIDATE), "-o", "json", *extra, env=env)
    report = result.json if result.stdout.strip() else {"phases": []}
    found: dict[str, dict[str, object]] = {}
    for step in steps(report).values():
        found.update(items(step))
    return result.exit_code, found, explain(result)


def test_validation_passes_on_a_healthy_platform_without_writing(platform: Platform, lab: LabHandle) -> None:
    writes = lab_write_requests(lab)
    code, found, output = _validate(platform)
    assert code == 0, output
    assert len(found) == 16  # every item of the four checklists
    assert all(item["passed"] for item in found.values()), output
    assert "MLflow model at s3://mlflow-artifacts/" in str(found["enhanced-artifact"]["message"])
    assert lab_write_requests(lab) == writes  # a check changes nothing


def test_validation_fails_naming_the_item_once_a_model_is_deleted(platform: Platform) -> None:
    platform.cluster.delete(ObjectRef(SELDON, "Model", INFERENCE, "enhanced-predictor"))
    wait_until(lambda: platform.model("enhanced-predictor") is None)
    code, found, output = _validate(platform, "--checklist", "serving", "--set", "grace=2s")
    assert code == 1, output
    failing = {name for name, item in found.items() if not item["passed"]}
    # The Model is missing, and the A/B Experiment that routes to it is not Ready: both say so.
    assert failing == {"models-ready", "experiment-ready", "enhanced-answers"}, output
    assert str(found["models-ready"]["message"]).startswith(
        "1 of 2 Model missing or not ready: Model financial-inference/enhanced-predictor: not found"
    )
    assert "enhanced-predictor" in str(found["experiment-ready"]["message"])


def test_recovery_runbook_repairs_the_platform_and_resumes_after_a_crash(platform: Platform) -> None:
    # The damage: a Model deleted (if the previous test has not already), and manifests with stale URIs.
    platform.cluster.delete(ObjectRef(SELDON, "Model", INFERENCE, "enhanced-predictor"))
    wait_until(lambda: platform.model("enhanced-predictor") is None)
    manifests = platform.copy_manifests("recover")
    workdir = manifests.parents[1]  # its own .drkit/runs: the crashed run is the only one
    crashed = start_drkit(
        "recover",
        str(RECOVER),
        "--yes",
        "--kubeconfig",
        str(platform.kubeconfig),
        *platform.run_args(manifests),
        cwd=workdir,
    )
    try:
        (first,) = wait_until(lambda: platform.workflows(f"{STEP_LABEL}={PIPELINE_STEPS[0]}"), 120)
    finally:
        crashed.send_signal(signal.SIGKILL)  # a crash in the middle of the pipelines
        crashed.communicate(timeout=30)
    run_id = first["metadata"]["labels"][RUN_ID_LABEL]
    assert [p.name for p in (workdir / ".drkit" / "runs").iterdir()] == [run_id]

    result = run_drkit("resume", run_id, "--yes", "-o", "json", cwd=workdir)
    assert result.exit_code == 0, explain(result)
    report = steps(result.json)
    assert report["pipelines/data-pipeline"]["details"]["reattached"] is True
    assert all(s["status"] == "succeeded" for s in report.values()), explain(result)
    # Exactly one Workflow per pipeline step carries the run's id: the resumed run did not submit twice.
    mine = platform.workflows(f"{RUN_ID_LABEL}={run_id}")
    assert sorted(w["metadata"]["labels"][STEP_LABEL] for w in mine) == sorted(PIPELINE_STEPS)
    assert {w["status"]["phase"] for w in mine} == {"Succeeded"}
    # Both Models are back, on the models this run trained, with the base's memory limit restored.
    rewritten = manifest_uris(manifests)
    for name in MODELS:
        assert MLFLOW3_URI.match(rewritten[name])
        assert platform.model_uri(name) == rewritten[name]
    assert platform.server_memory_limit() == "1Gi"
    code, _found, output = _validate(platform, "--set", "grace=30s")
    assert code == 0, output


def test_the_full_drill_tears_down_rebuilds_retrains_and_validates(
    platform: Platform, lab: LabHandle, fault_free_drill: dict[str, State]
) -> None:
    manifests = platform.copy_manifests("drill")
    before = {name: platform.model_uri(name) for name in MODELS if platform.model(name) is not None}
    with lab_models_stuck_until_unstuck(lab, platform.workdir):  # seed 003's stuck teardown
        result = platform.drkit("drill", str(DRILL), "--yes", *platform.run_args(manifests), "-o", "json")
    assert result.exit_code == 0, explain(result)
    fault_free_drill["state"] = snapshot(platform.cluster)
    report = result.json
    assert {p["name"]: p["status"] for p in report["phases"]} == dict.fromkeys(
        ("snapshot", "teardown", "rebuild", "pipelines", "deploy", "validate"), "succeeded"
    )
    by_step = steps(report)
    audit = by_step["teardown/unstick-finalizers"]["details"]["removed"]
    assert {r["object"] for r in audit} >= {f"Model {INFERENCE}/{name}" for name in MODELS}, audit
    mine = platform.workflows(f"{RUN_ID_LABEL}={report['runId']}")
    assert len(mine) == 3
    assert {w["status"]["phase"] for w in mine} == {"Succeeded"}
    rewritten = manifest_uris(manifests)
    for name in MODELS:
        assert MLFLOW3_URI.match(rewritten[name])
        assert rewritten[name] != before.get(name)
        assert platform.model_uri(name) == rewritten[name]
    for check in ("deploy/model-artifacts", "validate/infrastructure-health"):
        assert by_step[check]["checklistItems"]
        assert all(i["passed"] for i in by_step[check]["checklistItems"])
    # The retrained models answer the app's probe requests as the torn-down ones did.
    parity = by_step["validate/prediction-parity"]["parity"]
    assert {m["name"]: (m["verdict"], m["sameness"]) for m in parity["models"]} == dict.fromkeys(
        MODELS, ("equal", "retrained")
    )
    for model in parity["models"]:
        assert model["before"]["modelId"] != model["after"]["modelId"]
        assert model["after"]["storageUri"] == rewritten[model["name"]]
    # The rebuilt platform is the torn-down one, but for the Models pointing at their retrained models.
    diff = by_step["validate/reproduction-diff"]["reproductionDiff"]
    assert diff["counts"] == {"missing": 0, "extra": 0, "changed": len(MODELS)}
    changed = {o["name"]: [f["path"] for f in o["fields"]] for o in diff["objects"]}
    assert changed == {name: ["spec.storageUri"] for name in MODELS}


def test_the_drill_killed_at_every_crash_point_and_resumed_ends_as_the_fault_free_one(
    platform: Platform, lab: LabHandle, fault_free_drill: dict[str, State]
) -> None:
    began = time.monotonic()
    if "state" not in fault_free_drill:  # run alone: the fault-free drill first, for its final state
        manifests = platform.copy_manifests("crash-reference")
        with lab_models_stuck_until_unstuck(lab, platform.workdir):
            reference = platform.drkit("drill", str(DRILL), "--yes", *platform.run_args(manifests))
        assert reference.exit_code == 0, explain(reference)
        fault_free_drill["state"] = snapshot(platform.cluster)
    manifests = platform.copy_manifests("crash")
    workdir = manifests.parents[1]  # its own .drkit/runs: the crashed run is the only one there
    drill = [
        "drill",
        str(DRILL),
        "--yes",
        "--kubeconfig",
        str(platform.kubeconfig),
        *platform.run_args(manifests),
    ]
    with lab_models_stuck_until_unstuck(lab, workdir):  # as in the fault-free drill, across the attempts
        crashed = run_with_crashes(platform, workdir, drill, CRASH_POINTS)
    report = crashed.report
    assert report["outcome"] == "succeeded", report["message"]
    assert report["resumed"] is True
    assert {p["name"]: p["status"] for p in report["phases"]} == dict.fromkeys(
        ("snapshot", "teardown", "rebuild", "pipelines", "deploy", "validate"), "succeeded"
    )
    assert all(s["status"] == "succeeded" for s in steps(report).values())

    # The cluster as the fault-free drill left it (tests/cluster_state.py says what is normalised away).
    diff = compare(fault_free_drill["state"], snapshot(platform.cluster), names=("fault-free", "crashed"))
    assert not diff, diff
    # Exactly one Workflow per pipeline step, every one of them this run's, each succeeded.
    assert workflows_per_step(platform.cluster) == {(crashed.run_id, step): 1 for step in PIPELINE_STEPS}
    mine = platform.cluster.list(
        ARGO, "Workflow", PIPELINES_NS, label_selector=f"{RUN_ID_LABEL}={crashed.run_id}"
    )
    assert {w["status"]["phase"] for w in mine} == {"Succeeded"}

    # The journal: whole lines only; one run-started per process, each resume marked as one; the Ctrl-C
    # recorded; every step finished exactly once (what finished before a kill was not run again), succeeded.
    events = [json.loads(line) for line in crashed.journal.read_text(encoding="utf-8").splitlines()]
    assert [e["resumed"] for e in events if e["event"] == "run-started"] == [False] + [True] * len(
        CRASH_POINTS
    )
    assert [e["event"] for e in events].count("interrupted") == 1
    done = [
        (e["step"]["phase"], e["step"]["name"], e["step"]["status"])
        for e in events
        if e["event"] == "step-finished"
    ]
    assert sorted(done) == sorted(
        (p["name"], s["name"], "succeeded") for p in report["phases"] for s in p["steps"]
    )
    assert (events[-1]["event"], events[-1]["outcome"]) == ("run-finished", "succeeded")

    # Every manifest of the rewritten copy is whole YAML, nothing drkit wrote on the way is left behind, and
    # the Models serve what the copy names.
    for path in sorted(manifests.rglob("*")):
        assert not path.name.endswith((".drkit-new", ".drkit-backup")), f"left behind: {path}"
        if path.suffix == ".yaml":
            assert all(doc is not None for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))), path
    rewritten = manifest_uris(manifests)
    for name in MODELS:
        assert MLFLOW3_URI.match(rewritten[name])
        assert platform.model_uri(name) == rewritten[name]
    sys.stderr.write(
        f"\ncrash suite: {len(CRASH_POINTS)} crash points and resumes in {time.monotonic() - began:.1f}s "
        f"(the crashed drill {crashed.seconds:.1f}s); where each attempt died:\n"
        + "".join(
            f"  {n}. {p.where} -> {d}\n"
            for n, (p, d) in enumerate(zip(CRASH_POINTS, crashed.died_at, strict=True), 1)
        )
    )
