"""End to end: faults that do not go away end the shipped drill as a failure whose report names the cause
and the object, instead of a hang or a retry loop.

One private lab with the platform serves the module; each test runs the phase of the drill the fault hits
(`--only-phase`), from a scratch copy of playbooks/ where a test needs a shorter timeout or a step left
out. The tests restore what they broke, except the last (a teardown that cannot finish), which the lab's
end discards.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from e2e_support import lab_install_sealing_key
from helpers import start_drkit
from lab_helpers import LabHandle
from playbooks_support import (
    PLAYBOOKS,
    Platform,
    runs_of,
    steps,
    wait_for_step_start,
)

from drkit.kube import ObjectRef

pytestmark = [pytest.mark.real_plane, pytest.mark.lab_only, pytest.mark.mlflow]


def _drill_copy(platform: Platform, name: str, replace: tuple[str, str] | None = None) -> Path:
    """playbooks/ copied (the drill reads requests/*.json next to it), its drill edited by `replace`: the
    one match of a pattern (a regular expression) and what replaces it."""
    target = platform.workdir / name
    shutil.copytree(PLAYBOOKS, target)
    drill = target / "financial-mlops.yaml"
    if replace is not None:
        pattern, replacement = replace
        edited, count = re.subn(pattern, lambda _: replacement, drill.read_text(encoding="utf-8"))
        assert count == 1, f"the shipped drill changed: {pattern!r} matches {count} times, not once"
        drill.write_text(edited, encoding="utf-8")
    return drill


def _start(platform: Platform, drill: Path, phase: str, manifests: Path) -> subprocess.Popen[str]:
    return start_drkit(
        "drill", str(drill), "--yes", "--only-phase", phase, *platform.run_args(manifests),
        "--kubeconfig", str(platform.kubeconfig), "-o", "json", cwd=platform.workdir,
    )  # fmt: skip


def _finish(drill: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = drill.communicate(timeout=300)
    assert drill.returncode == 1, f"exit {drill.returncode}\n{out[-4000:]}\n{err[-4000:]}"
    report: dict[str, Any] = json.loads(out)
    assert report["outcome"] == "failed"
    return report


def test_mlflow_gone_for_good_fails_the_model_uri_step_naming_the_server(
    platform: Platform, lab: LabHandle
) -> None:
    # A gate step before model-uris holds the drill until MLflow is down (the plans, before it, read
    # MLflow); model-uris gets a short timeout so that waiting for MLflow ends within the test.
    gate = platform.workdir / "mlflow-is-down"
    drill = _drill_copy(
        platform,
        "mlflow-gone",
        (re.escape("      - name: model-uris\n"),
         "      - name: gate\n"
         f"        command: {{run: 'while [ ! -f {gate} ]; do sleep 0.05; done'}}\n"
         "      - name: model-uris\n        timeout: 20s\n"),
    )  # fmt: skip
    mlflow = lab.lab.mlflow
    assert mlflow is not None
    earlier = runs_of(platform.workdir)
    process = _start(platform, drill, "deploy", platform.copy_manifests("mlflow-gone-manifests"))
    try:
        wait_for_step_start(platform.workdir, process, "deploy/gate", earlier)
        mlflow.stop()
        gate.touch()
        report = _finish(process)
    finally:
        if mlflow.pid is None:
            mlflow.start()
    failed = steps(report)["deploy/model-uris"]
    assert failed["status"] == "failed"
    assert f"127.0.0.1:{mlflow.port}" in failed["message"], failed["message"]
    assert "cannot connect" in failed["message"]
    assert {r["cause"] for r in failed["retries"]} == {"no answer"}  # it kept trying, visibly
    assert steps(report)["deploy/deploy-models"]["status"] == "not-run"


def test_a_model_whose_mlmodel_never_appears_fails_naming_the_model(
    platform: Platform, lab: LabHandle
) -> None:
    mlflow = lab.lab.mlflow
    assert mlflow is not None
    hidden: list[tuple[Path, bytes]] = []
    for mlmodel in mlflow.paths.artifacts.glob("*/models/m-*/artifacts/MLmodel"):
        hidden.append((mlmodel, mlmodel.read_bytes()))
        mlmodel.unlink()  # logged, but its MLmodel never uploaded
    assert hidden, "the lab's MLflow holds no logged model"
    try:
        report = _finish(
            _start(
                platform,
                _drill_copy(platform, "no-mlmodel"),
                "deploy",
                platform.copy_manifests("no-mlmodel-manifests"),
            )
        )
    finally:
        for path, content in hidden:
            path.write_bytes(content)
    failed = steps(report)["deploy/model-uris"]
    assert failed["status"] == "failed"
    assert "baseline-predictor" in failed["message"]
    assert "MLmodel" in failed["message"]
    assert "no file was changed" in failed["message"]


def test_a_missing_sealing_key_fails_the_secrets_step_naming_the_sealed_secret(
    platform: Platform, lab: LabHandle
) -> None:
    keys = platform.cluster.list(
        "v1", "Secret", "kube-system", label_selector="sealedsecrets.bitnami.com/sealed-secrets-key"
    )
    assert keys, "the lab has no sealing key to take away"
    for key in keys:
        platform.cluster.delete(ObjectRef.of(key))
    try:
        manifests = platform.copy_manifests("no-key-manifests")
        report = _finish(_start(platform, _drill_copy(platform, "no-key"), "rebuild", manifests))
    finally:
        lab_install_sealing_key(lab)
    failed = steps(report)["rebuild/platform-secrets"]
    assert failed["status"] == "failed"
    assert "no SealedSecrets sealing key in namespace kube-system" in failed["message"]
    assert "seldon-rclone-gs-public" in failed["message"] + json.dumps(failed["details"])


def test_a_scheduler_down_for_good_without_finalizer_clearing_fails_naming_the_stuck_models(
    platform: Platform, lab: LabHandle
) -> None:
    # The playbook's owner does not allow clearing finalizers: the step that would is replaced by a wait.
    drill = _drill_copy(
        platform,
        "stuck",
        (
            # The step's body, whatever it lists, up to its timeout.
            r"        clearFinalizers:\n(?:          .*\n)+        timeout: 3m\n",
            "        wait:\n"
            "          objects: [{apiVersion: v1, kind: Namespace, name: financial-inference}]\n"
            "          for: deleted\n        timeout: 15s\n",
        ),
    )
    lab.lab.update_faults({"down_controllers": ["seldon-scheduler"]})
    try:
        report = _finish(_start(platform, drill, "teardown", platform.copy_manifests("stuck-manifests")))
    finally:
        lab.lab.update_faults({"clear": True})
    failed = steps(report)["teardown/unstick-finalizers"]
    assert failed["status"] == "failed"
    text = failed["message"] + (failed.get("hint") or "")
    assert "financial-inference" in text
    assert "baseline-predictor" in text, text
    assert "seldon.model.finalizer" in text, text
