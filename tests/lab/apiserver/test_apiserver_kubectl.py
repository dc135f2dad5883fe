"""The real kubectl 1.37 against the lab: discovery fallback, OpenAPI, apply (client-side, server-side, -k),
wait, watch, patch, delete and the namespace `finalize` escape hatch."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from apiserver_harness import KUBECTL, Lab, wait_for

from drkit_lab.apiserver.types import ResourceType

pytestmark = [pytest.mark.kubectl, pytest.mark.skipif(not KUBECTL.exists(), reason="kubectl not installed")]

CRD_YAML = textwrap.dedent(
    """\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: models.mlops.seldon.io
    spec:
      group: mlops.seldon.io
      scope: Namespaced
      names: {plural: models, singular: model, kind: Model, listKind: ModelList, shortNames: [mlm]}
      versions:
      - name: v1alpha1
        served: true
        storage: true
        subresources: {status: {}}
        schema:
          openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    """
)
MODEL_YAML = textwrap.dedent(
    """\
    apiVersion: mlops.seldon.io/v1alpha1
    kind: Model
    metadata:
      name: iris
      namespace: default
    spec:
      storageUri: s3://models/iris
    """
)
DEPLOYMENT_YAML = textwrap.dedent(
    """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: default
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - name: web
            image: nginx:1
            env: [{name: A, value: "1"}]
    """
)


def test_apply_crd_then_custom_resource_then_wait(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "crd.yaml").write_text(CRD_YAML)
    (tmp_path / "model.yaml").write_text(MODEL_YAML)
    assert "created" in lab.kubectl("apply", "-f", str(tmp_path / "crd.yaml")).stdout
    lab.kubectl("wait", "--for=condition=Established", "crd/models.mlops.seldon.io", "--timeout=5s")
    assert (
        "model.mlops.seldon.io/iris created"
        in lab.kubectl("apply", "-f", str(tmp_path / "model.yaml")).stdout
    )
    assert "unchanged" in lab.kubectl("apply", "-f", str(tmp_path / "model.yaml")).stdout
    got = lab.kubectl_json("get", "mlm", "iris")
    assert got["spec"]["storageUri"] == "s3://models/iris"

    # kubectl 1.37 asked for aggregated discovery, got the legacy documents and fell back to them.
    paths = {(r["method"], r["path"]) for r in lab.requests()}
    assert ("GET", "/apis/mlops.seldon.io/v1alpha1") in paths
    assert ("GET", "/openapi/v3") in paths


def test_apply_server_side_and_kustomize(lab: Lab, tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "deployment.yaml").write_text(DEPLOYMENT_YAML)
    (base / "kustomization.yaml").write_text("resources: [deployment.yaml]\ncommonLabels: {team: ml}\n")
    assert "deployment.apps/web created" in lab.kubectl("apply", "-k", str(base)).stdout
    deployment = lab.kubectl_json("get", "deploy", "web")
    assert deployment["metadata"]["labels"] == {"team": "ml"}

    # Client-side apply of a changed container list: kubectl computes a strategic merge patch.
    (base / "deployment.yaml").write_text(DEPLOYMENT_YAML.replace('value: "1"', 'value: "2"'))
    assert "configured" in lab.kubectl("apply", "-k", str(base)).stdout
    env = lab.kubectl_json("get", "deploy", "web")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "A", "value": "2"}]

    (tmp_path / "ssa.yaml").write_text(DEPLOYMENT_YAML.replace("replicas: 1", "replicas: 2"))
    out = lab.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(tmp_path / "ssa.yaml")).stdout
    assert "serverside-applied" in out
    assert lab.kubectl_json("get", "deploy", "web")["spec"]["replicas"] == 2


def test_crd_and_custom_resource_in_one_apply(lab: Lab, tmp_path: Path) -> None:
    """Real kubectl resolves every kind before sending anything, so a CR next to its new CRD fails with
    "no matches for kind" on the first apply (the CRD is created) and succeeds on the second: as on a real
    cluster."""
    (tmp_path / "all.yaml").write_text(CRD_YAML + "---\n" + MODEL_YAML)
    first = lab.kubectl("apply", "-f", str(tmp_path / "all.yaml"), check=False)
    assert first.returncode != 0
    assert 'no matches for kind "Model"' in first.stderr
    assert "customresourcedefinition.apiextensions.k8s.io/models.mlops.seldon.io created" in first.stdout
    second = lab.kubectl("apply", "-f", str(tmp_path / "all.yaml"))
    assert "model.mlops.seldon.io/iris created" in second.stdout


def test_stuck_namespace_runbook(lab: Lab) -> None:
    lab.kubectl("apply", "-f", "-", input=CRD_YAML)
    lab.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: {name: seldon}\n")
    for name in ("iris", "wine"):
        model = MODEL_YAML.replace("namespace: default", "namespace: seldon").replace(
            "name: iris", f"name: {name}"
        )
        model = model.replace("metadata:\n", "metadata:\n  finalizers: [seldon.model.finalizer]\n")
        lab.kubectl("apply", "-f", "-", input=model)
    lab.kubectl("delete", "namespace", "seldon", "--wait=false")
    assert lab.manager.wait_idle()
    ns = lab.kubectl_json("get", "ns", "seldon")
    assert ns["status"]["phase"] == "Terminating"
    conditions = {c["type"]: c["message"] for c in ns["status"]["conditions"]}
    assert conditions["NamespaceContentRemaining"] == (
        "Some resources are remaining: models.mlops.seldon.io has 2 resource instances"
    )
    assert lab.kubectl_json("get", "-n", "seldon", "model", "iris")["metadata"]["deletionTimestamp"]

    # Runbook step 1: strip one model's finalizers; it goes away, the namespace stays Terminating.
    lab.kubectl(
        "patch", "-n", "seldon", "model", "iris", "--type", "merge", "-p", '{"metadata":{"finalizers":null}}'
    )
    assert lab.kubectl("get", "-n", "seldon", "model", "iris", check=False).returncode != 0
    wait_for(lambda: "has 1 resource instances" in json.dumps(lab.kubectl_json("get", "ns", "seldon")))
    # Runbook step 2 (the blunt one): empty spec.finalizers through the finalize subresource. Re-read the
    # namespace first: the controller rewrote its conditions, so the old copy is stale (409, as for real).
    stale = lab.kubectl(
        "replace", "--raw", "/api/v1/namespaces/seldon/finalize", "-f", "-", input=json.dumps(ns), check=False
    )
    assert "the object has been modified" in stale.stderr
    assert lab.manager.wait_idle()
    ns = lab.kubectl_json("get", "ns", "seldon")
    ns["spec"]["finalizers"] = []
    lab.kubectl("replace", "--raw", "/api/v1/namespaces/seldon/finalize", "-f", "-", input=json.dumps(ns))
    gone = lab.kubectl("get", "ns", "seldon", check=False)
    assert 'namespaces "seldon" not found' in gone.stderr
    # The other model is stranded in storage, exactly as it would be in etcd.
    assert lab.kubectl_json("get", "-n", "seldon", "model", "wine")["metadata"]["finalizers"]


@contextmanager
def _watching(lab: Lab, rt: ResourceType, *args: str) -> Iterator[Future[subprocess.CompletedProcess[str]]]:
    """Runs `kubectl ARGS` and enters once it has opened a watch of `rt` on the server, so a change made in
    the block is one kubectl can only learn of from that watch; kubectl's result once it has ended."""
    before = lab.store.open_watches(rt)
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(lab.kubectl, *args, check=False)
        wait_for(lambda: lab.store.open_watches(rt) > before or running.done(), timeout=30)
        assert not running.done(), f"kubectl ended before it watched: {running.result().stderr}"
        yield running


def test_delete_and_wait_for_delete(lab: Lab) -> None:
    lab.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: doomed}\n")
    assert 'configmap "doomed" deleted' in lab.kubectl("delete", "configmap", "doomed").stdout
    lab.kubectl("wait", "--for=delete", "configmap/doomed", "--timeout=2s")


def test_get_watch_streams_until_request_timeout(lab: Lab) -> None:
    lab.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\n")
    configmaps = lab.store.registry.lookup("", "v1", "configmaps")
    assert configmaps is not None
    with _watching(lab, configmaps, "get", "configmaps", "-w", "--request-timeout=1.5s") as watched:
        # "arrived" sorts first: had kubectl listed it rather than seen it on its watch, it would come first.
        lab.store.create(
            configmaps, {"metadata": {"name": "arrived", "namespace": "default"}, "data": {"a": "1"}}
        )
    result = watched.result()
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]  # the server's Table columns
    assert [line.split()[0] for line in lines[1:]] == ["watched", "arrived"]
    assert any(r["watch"] for r in lab.requests(until=lambda rows: any(r["watch"] for r in rows)))


def test_create_commands_send_protobuf_the_lab_decodes(lab: Lab) -> None:
    lab.kubectl("create", "namespace", "recovered")
    lab.kubectl("create", "configmap", "cfg", "-n", "recovered", "--from-literal=a=b")
    lab.kubectl("create", "secret", "generic", "creds", "-n", "recovered", "--from-literal=user=me")
    lab.kubectl("create", "serviceaccount", "robot", "-n", "recovered")
    assert lab.kubectl_json("get", "ns", "recovered")["status"]["phase"] == "Active"
    assert lab.kubectl_json("get", "cm", "cfg", "-n", "recovered")["data"] == {"a": "b"}
    assert lab.kubectl_json("get", "secret", "creds", "-n", "recovered")["data"] == {"user": "bWU="}
    assert lab.kubectl_json("get", "sa", "robot", "-n", "recovered")["metadata"]["namespace"] == "recovered"
    # Kinds the lab cannot decode from protobuf are refused clearly rather than mangled.
    refused = lab.kubectl("create", "deployment", "d", "--image=nginx", check=False)
    assert "cannot decode apps/v1/Deployment from protobuf" in refused.stderr


def test_delete_kustomization_waits_for_removal(lab: Lab, tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "deployment.yaml").write_text(DEPLOYMENT_YAML)
    (base / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    lab.kubectl("apply", "-k", str(base))
    assert 'deployment.apps "web" deleted' in lab.kubectl("delete", "-k", str(base), "--timeout=5s").stdout
    assert lab.kubectl("get", "deploy", "web", check=False).returncode != 0


def test_crd_and_custom_resource_in_one_kustomization(lab: Lab, tmp_path: Path) -> None:
    """Same as with -f: the first `apply -k` creates the CRD and fails on the CR, the second succeeds."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "crd.yaml").write_text(CRD_YAML)
    (base / "model.yaml").write_text(MODEL_YAML)
    (base / "kustomization.yaml").write_text("resources: [crd.yaml, model.yaml]\n")
    first = lab.kubectl("apply", "-k", str(base), check=False)
    assert first.returncode != 0
    assert 'no matches for kind "Model"' in first.stderr
    assert "model.mlops.seldon.io/iris created" in lab.kubectl("apply", "-k", str(base)).stdout


def test_wait_for_condition_ready_on_a_custom_resource(lab: Lab) -> None:
    lab.kubectl("apply", "-f", "-", input=CRD_YAML)
    lab.kubectl("apply", "-f", "-", input=MODEL_YAML)
    models = lab.store.registry.lookup("mlops.seldon.io", "v1alpha1", "models")
    assert models is not None
    with _watching(lab, models, "wait", "--for=condition=Ready", "model/iris", "--timeout=5s") as waited:
        ready = {"conditions": [{"type": "Ready", "status": "True", "reason": "ModelAvailable"}]}
        lab.store.mutate(models, "default", "iris", lambda m: {**m, "status": ready}, subresource="status")
    result = waited.result()
    assert result.returncode == 0, result.stderr
    assert "condition met" in result.stdout
