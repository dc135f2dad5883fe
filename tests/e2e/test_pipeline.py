"""End to end: the `pipeline` step against a cluster running Argo Workflows (a private lab by default).

Everything goes through a kubeconfig and the real `drkit` CLI. The only lab-specific parts are isolated in
`install_lab_argo_crds` (it installs the lab's Argo CRDs) and the templates' images: `drkit-lab/job` leaves
run the lab's real job program, other images are simulated by the lab's controller. So the tests that run a
workflow (or read the lab's request log) are `lab_only`; on a real cluster with Argo Workflows the others run
in the test's own namespace.
"""

from __future__ import annotations

import io
import json
import re
import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import E2ECluster
from helpers import run_drkit, start_drkit
from playbooks_support import wait_until
from ruamel.yaml import YAML

from drkit.context import Runtime
from drkit.kube import Cluster, ObjectRef, UnknownKind
from drkit.playbook.loader import load_playbook
from drkit.steps.base import StepContext, StepStatus
from drkit.steps.pipeline import RUN_ID_LABEL, STEP_KIND, STEP_LABEL
from drkit.steps.registry import probe_schemas, step_schemas

pytestmark = pytest.mark.real_plane

ARGO = "argoproj.io/v1alpha1"
CRD_DIR = Path(__file__).resolve().parents[2] / "lab" / "drkit_lab" / "platforms" / "crds"
JOB_IMAGE = "drkit-lab/job:latest"


def _leaf(name: str, args: list[str], image: str = JOB_IMAGE) -> dict[str, Any]:
    return {"name": name, "container": {"image": image, "args": args}}


def _template(
    name: str,
    namespace: str,
    steps: list[list[dict[str, str]]],
    leaves: list[dict[str, Any]],
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "entrypoint": "main",
        "templates": [{"name": "main", "steps": steps}, *leaves],
    }
    if parameters:
        spec["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in parameters.items()]}
    return {
        "apiVersion": ARGO,
        "kind": "WorkflowTemplate",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def templates(namespace: str) -> list[dict[str, Any]]:
    return [
        # prepare writes `<model-variant>.csv` (a real job: proves the parameter reached the leaf), then a
        # simulated training step.
        _template(
            "train",
            namespace,
            [[{"name": "prepare", "template": "prepare"}], [{"name": "fit", "template": "fit"}]],
            [
                _leaf(
                    "prepare", ["data", "--out", "{{workflow.parameters.model-variant}}.csv", "--rows", "20"]
                ),
                _leaf("fit", ["train"], image="python:3.11-slim"),
            ],
            {"model-variant": "baseline"},
        ),
        # the job refuses its arguments and exits 2: the node fails with the job's last stderr line
        _template(
            "broken",
            namespace,
            [[{"name": "prepare", "template": "prepare"}]],
            [_leaf("prepare", ["data", "--out", "d.csv", "--rows", "not-a-number"])],
        ),
        _template(
            "slow",
            namespace,
            [[{"name": "wait", "template": "wait"}]],
            [_leaf("wait", ["sleep", "--seconds", "{{workflow.parameters.seconds}}"])],
            {"seconds": "30"},
        ),
    ]


# --- cluster access (a kubeconfig, as for any cluster) ---------------------------------------------


def install_lab_argo_crds(cluster: Cluster) -> None:
    """Lab only: a real cluster has Argo Workflows installed already (its CRDs are not ours to replace)."""
    try:
        cluster.resource_for(ARGO, "Workflow")
        return  # already served: leave the cluster's own CRDs alone
    except UnknownKind:
        pass
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(CRD_DIR.glob("argo-*.yaml")):
        cluster.apply(yaml.load(path.read_text(encoding="utf-8")))
    cluster.invalidate_discovery()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # discovery serves the kinds once the CRDs are established
        try:
            cluster.resource_for(ARGO, "WorkflowTemplate")
            cluster.resource_for(ARGO, "Workflow")
            return
        except Exception:
            cluster.invalidate_discovery()
            time.sleep(0.05)
    raise AssertionError("the Argo CRDs were not served within 20s")


class ArgoEnv:
    """A namespace with the test templates, reached through a kubeconfig."""

    def __init__(self, e2e: E2ECluster, cluster: Cluster, namespace: str, workdir: Path) -> None:
        self.e2e = e2e
        self.kubeconfig = e2e.kubeconfig
        self.cluster = cluster
        self.namespace = namespace
        self.workdir = workdir

    def playbook(self, step_body: str, *, timeout: str | None = None) -> Path:
        """A one-phase playbook whose one step, `train`, is a pipeline step with this body."""
        text = textwrap.dedent(
            """\
            apiVersion: drkit.io/v1
            kind: Playbook
            metadata: {name: pipeline-e2e}
            target: {contexts: [CONTEXT]}
            vars: {variant: enhanced}
            phases:
              - name: pipelines
                steps:
                  - name: train
                    pipeline: {body}
            """
        ).replace("{body}", step_body.replace("NS", self.namespace))
        text = text.replace("CONTEXT", self.e2e.context)
        path = self.workdir / "playbook.yaml"
        if timeout is not None:
            text += f"        timeout: {timeout}\n"
        path.write_text(text, encoding="utf-8")
        return path

    def drkit(self, *args: str) -> Any:
        return run_drkit(*args, *self.e2e.cli_args(), cwd=self.workdir)

    def lab_requests(self) -> list[dict[str, Any]]:
        """Lab only: every API request the lab has answered (its requests.jsonl), oldest first."""
        log = self.kubeconfig.parent / "requests.jsonl"
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        return [json.loads(line) for line in lines if line.strip()]

    def workflows(self, selector: str = "") -> list[dict[str, Any]]:
        return self.cluster.list(ARGO, "Workflow", self.namespace, label_selector=selector)


@pytest.fixture
def argo(e2e_cluster: E2ECluster, tmp_path: Path) -> Iterator[ArgoEnv]:
    with e2e_cluster.open() as cluster:
        if e2e_cluster.is_lab:
            install_lab_argo_crds(cluster)
        namespace = e2e_cluster.namespace("pipelines")
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for template in templates(namespace):
            cluster.apply(template)
        workdir = tmp_path / "work"
        workdir.mkdir()
        yield ArgoEnv(e2e_cluster, cluster, namespace, workdir)


def step_of(report: Any, index: int = 0) -> dict[str, Any]:
    step: dict[str, Any] = report["phases"][0]["steps"][index]
    return step


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.lab_only
def test_a_workflow_runs_from_its_template_with_the_playbooks_parameters(argo: ArgoEnv) -> None:
    path = argo.playbook(
        "{workflowTemplate: train, namespace: NS, parameters: {model-variant: '${variant}'}, "
        "labels: {team: ml}}"
    )
    result = argo.drkit("drill", str(path), "--yes", "-o", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    step = step_of(result.json)
    assert step["status"] == "succeeded"
    assert "succeeded" in step["message"]
    assert "2/2 nodes" in step["message"]

    (workflow,) = argo.workflows(f"{RUN_ID_LABEL}={result.json['runId']}")
    labels = workflow["metadata"]["labels"]
    assert labels[STEP_LABEL] == "pipelines.train"
    assert labels["team"] == "ml"
    assert workflow["metadata"]["name"].startswith("train-")
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "train"}
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "model-variant", "value": "enhanced"}]
    assert workflow["status"]["phase"] == "Succeeded"

    details = step["details"]
    assert details["workflow"] == workflow["metadata"]["name"]
    assert details["uid"] == workflow["metadata"]["uid"]
    assert details["phase"] == "Succeeded"
    assert details["reattached"] is False
    assert [n["name"] for n in details["nodes"]] == ["prepare", "fit"]
    # the real job's `key=value` output, with the parameter substituted into its arguments
    assert details["outputs"]["prepare"]["dataset"].endswith("enhanced.csv")
    assert details["startedAt"]
    assert details["finishedAt"]


@pytest.mark.lab_only
def test_a_failed_workflow_names_the_failed_node_and_its_message(argo: ArgoEnv) -> None:
    path = argo.playbook("{workflowTemplate: broken, namespace: NS}")
    result = argo.drkit("drill", str(path), "--yes", "-o", "json")
    assert result.exit_code == 1, result.stdout + result.stderr
    step = step_of(result.json)
    assert step["status"] == "failed"
    assert "ended Failed" in step["message"]
    assert "prepare (template prepare)" in step["message"]
    assert "invalid int value: 'not-a-number'" in step["message"]
    (failed,) = [n for n in step["details"]["nodes"] if n["phase"] == "Failed"]
    assert failed["name"] == "prepare"
    assert "not-a-number" in failed["message"]
    # Failure collection gathered the Workflow as it ended, for on-call to read next to the report.
    collected = step["collected"]
    name = f"objects/workflow-{argo.namespace}-{step['details']['workflow']}.yaml"
    assert name in collected["files"], collected
    run_dir = argo.workdir / ".drkit" / "runs" / result.json["runId"] / collected["directory"]
    assert "phase: Failed" in (run_dir / name).read_text()


def test_a_missing_template_is_a_problem_in_the_plan_and_an_error_in_the_run(argo: ArgoEnv) -> None:
    path = argo.playbook("{workflowTemplate: no-such-template, namespace: NS}")
    planned = argo.drkit("plan", str(path), "-o", "json")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    step = step_of(planned.json)
    assert f"WorkflowTemplate {argo.namespace}/no-such-template" in step["message"]
    assert "does not exist" in step["message"]
    assert any("problem:" in action for action in step["details"]["actions"])

    result = argo.drkit("drill", str(path), "--yes", "-o", "json")
    assert result.exit_code == 1
    step = step_of(result.json)
    assert "does not exist, so no Workflow was submitted" in step["message"]
    assert f"WorkflowTemplates in namespace {argo.namespace}: broken, slow, train" in step["message"]
    assert argo.workflows() == []


@pytest.mark.lab_only
def test_the_plan_of_an_existing_template_shows_the_parameters(argo: ArgoEnv) -> None:
    path = argo.playbook(
        "{workflowTemplate: train, namespace: NS, parameters: {model-variant: '${variant}'}}"
    )
    before = len(argo.lab_requests())
    planned = argo.drkit("plan", str(path), "-o", "json")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    step = step_of(planned.json)
    assert step["message"] == (
        f"would submit a Workflow from WorkflowTemplate {argo.namespace}/train "
        "with parameters {'model-variant': 'enhanced'}"
    )
    assert step["destructive"] is False
    assert argo.workflows() == []
    during = argo.lab_requests()[before:]
    assert any(r["path"].endswith("/workflowtemplates/train") for r in during)  # it looked
    assert [r for r in during if r["method"] != "GET"] == []  # and wrote nothing


@pytest.mark.lab_only
def test_on_timeout_stop_shuts_the_workflow_down(argo: ArgoEnv) -> None:
    path = argo.playbook("{workflowTemplate: slow, namespace: NS, onTimeout: stop}", timeout="2s")
    result = argo.drkit("drill", str(path), "--yes", "-o", "json")
    assert result.exit_code == 1, result.stdout + result.stderr
    step = step_of(result.json)
    assert "did not finish before the step's timeout" in step["message"]
    assert "stopped it with spec.shutdown=Stop" in step["message"]
    assert step["details"]["timedOut"] is True
    assert step["details"]["stopRequested"] is True

    (workflow,) = argo.workflows()
    assert workflow["spec"]["shutdown"] == "Stop"
    assert workflow["status"]["phase"] == "Failed"
    assert "Stopped" in workflow["status"]["message"]


@pytest.mark.lab_only
def test_on_timeout_fail_leaves_the_workflow_running_and_says_how_to_stop_it(argo: ArgoEnv) -> None:
    path = argo.playbook("{workflowTemplate: slow, namespace: NS}", timeout="1s")
    result = argo.drkit("drill", str(path), "--yes", "-o", "json")
    assert result.exit_code == 1
    step = step_of(result.json)
    assert "it is still running" in step["message"]
    assert "kubectl patch workflow" in step["message"]
    (workflow,) = argo.workflows()
    assert "shutdown" not in workflow["spec"]
    assert workflow["status"]["phase"] in ("Pending", "Running")


@pytest.mark.lab_only
def test_a_resumed_run_reattaches_to_its_workflow_instead_of_submitting_another(argo: ArgoEnv) -> None:
    path = argo.playbook("{workflowTemplate: slow, namespace: NS, parameters: {seconds: '3'}}")
    crashed = start_drkit("drill", str(path), "--yes", *argo.e2e.cli_args(), cwd=argo.workdir)
    try:
        (workflow,) = wait_until(lambda: argo.workflows(f"{STEP_LABEL}=pipelines.train"), every=0.05)
    finally:
        crashed.send_signal(signal.SIGKILL)  # a crash: no chance to clean up or journal anything
        crashed.communicate(timeout=30)
    assert crashed.returncode == -signal.SIGKILL
    run_id = workflow["metadata"]["labels"][RUN_ID_LABEL]
    assert argo.cluster.get(ARGO, "Workflow", workflow["metadata"]["name"], argo.namespace) is not None

    result = run_drkit("resume", run_id, "--yes", "-o", "json", cwd=argo.workdir)
    assert result.exit_code == 0, result.stdout + result.stderr
    step = step_of(result.json)
    assert step["message"].startswith(
        f"re-attached to workflow {argo.namespace}/{workflow['metadata']['name']}: it succeeded"
    )
    assert step["details"]["reattached"] is True
    assert step["details"]["uid"] == workflow["metadata"]["uid"]
    assert len(argo.workflows(f"{RUN_ID_LABEL}={run_id}")) == 1


@pytest.mark.lab_only
def test_a_failed_workflow_is_not_reattached_a_resume_submits_a_new_one(argo: ArgoEnv) -> None:
    # The first workflow fails; the cause is then fixed in the cluster (the template), and the run resumed.
    path = argo.playbook("{workflowTemplate: broken, namespace: NS}")
    first = argo.drkit("drill", str(path), "--yes", "-o", "json")
    assert first.exit_code == 1
    run_id = first.json["runId"]
    fixed = templates(argo.namespace)[0] | {"metadata": {"name": "broken", "namespace": argo.namespace}}
    argo.cluster.apply(fixed)

    result = run_drkit("resume", run_id, "--yes", "-o", "json", cwd=argo.workdir)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert step_of(result.json)["details"]["reattached"] is False
    phases = sorted(w["status"]["phase"] for w in argo.workflows(f"{RUN_ID_LABEL}={run_id}"))
    assert phases == ["Failed", "Succeeded"]


@pytest.mark.lab_only
def test_a_workflow_deleted_while_running_fails_the_step_with_the_last_phase_seen(argo: ArgoEnv) -> None:
    path = argo.playbook("{workflowTemplate: slow, namespace: NS, parameters: {seconds: '20'}}")
    proc = start_drkit("drill", str(path), "--yes", *argo.e2e.cli_args(), "-o", "json", cwd=argo.workdir)
    try:
        (workflow,) = wait_until(
            lambda: [w for w in argo.workflows() if (w.get("status") or {}).get("phase") == "Running"],
            every=0.05,
        )
        argo.cluster.delete(ObjectRef.of(workflow))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    step = step_of(YAML(typ="safe", pure=True).load(out))
    assert "was deleted while Running" in step["message"]
    assert step["details"]["gone"] is True


@pytest.mark.lab_only
def test_progress_shows_which_nodes_run(argo: ArgoEnv, tmp_path: Path) -> None:
    """The step alone (no engine), to see its live lines: the same Cluster the engine would hand it."""
    runtime = Runtime(
        stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), env={}, cwd=argo.workdir
    )
    playbook = load_playbook(
        argo.playbook("{workflowTemplate: train, namespace: NS}"),
        step_kinds=step_schemas(),
        check_kinds=probe_schemas(),
    )
    spec = playbook.phases[0].steps[0]
    lines: list[str] = []
    ctx = StepContext(
        runtime=runtime,
        playbook=playbook,
        run_id="20260101-000000-prog",
        run_dir=tmp_path / "run",
        deadline=runtime.monotonic() + 60,
        progress=lines.append,
        cluster=lambda: argo.cluster,
        phase=playbook.phases[0].name,  # as the engine gives it: the labels name phase and step
    )
    result = STEP_KIND.build(spec).run(ctx)
    assert result.status is StepStatus.SUCCEEDED, result.message
    name = result.details["workflow"]
    assert lines[0] == f"submitted workflow {argo.namespace}/{name}"
    assert any(re.fullmatch(rf"{name}: [01]/[12] nodes: (prepare|fit) Running", line) for line in lines), (
        lines
    )
    assert lines[-1] == f"{name}: 2/2 nodes: workflow Succeeded"
    (workflow,) = argo.workflows(f"{RUN_ID_LABEL}=20260101-000000-prog")
    assert workflow["metadata"]["labels"][STEP_LABEL] == "pipelines.train"
    assert len(lines) == len(set(lines))  # each line once: unchanged states are not repeated
