"""End to end: the reproduction diff finds a deleted, an added and a changed object, and a changed Secret by
its keys only; in a drill (inventory, then a resume after the changes) and between two clusters (`drkit
diff`). Objects are applied and deleted through drkit's own kube adapter in the test's namespace."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_cluster import LAB_CONTEXT, E2ECluster
from helpers import run_drkit
from lab_helpers import LabHandle
from ruamel.yaml import YAML

from drkit.kube import Cluster, ClusterConfig, ObjectRef

pytestmark = pytest.mark.real_plane

PASSWORD = "s3cr3t-before-the-drill"
NEW_PASSWORD = "s3cr3t-after-the-drill"


def _platform(client: Cluster, namespace: str, *, password: str, mode: str, extra: str | None) -> None:
    client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    client.apply(_config(namespace, "settings", {"mode": mode, "replicas": "2"}))
    client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": namespace},
            "stringData": {"password": password, "user": "svc"},
        }
    )
    if extra is not None:
        client.apply(_config(namespace, extra, {"a": "1"}))


def _config(namespace: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def _check(diff: dict[str, Any], namespace: str) -> None:
    objects = {o["object"]: o for o in diff["objects"]}
    assert objects[f"ConfigMap {namespace}/retired"]["change"] == "missing"
    assert objects[f"ConfigMap {namespace}/introduced"]["change"] == "extra"
    settings = objects[f"ConfigMap {namespace}/settings"]
    assert settings["change"] == "changed"
    assert [(f["path"], f["old"], f["new"]) for f in settings["fields"]] == [("data.mode", "fast", "safe")]
    creds = objects[f"Secret {namespace}/creds"]
    assert [(f["path"], f["change"], f["secret"], f["old"], f["new"]) for f in creds["fields"]] == [
        ("data.password", "changed", True, None, None)
    ]
    assert diff["counts"] == {"missing": 1, "extra": 1, "changed": 2}
    assert not diff["passed"]


def _no_password_in(*texts: str) -> None:
    for text in texts:
        for value in (PASSWORD, NEW_PASSWORD):
            assert value not in text
            assert json.dumps(value)[1:-1] not in text


@pytest.mark.lab
def test_a_drill_reports_the_missing_extra_and_changed_objects(
    e2e_cluster: E2ECluster, tmp_path: Path
) -> None:
    namespace = e2e_cluster.namespace("platform")
    flag = tmp_path / "changed"
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(
        f"""\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: e2e-diff}}
target: {{contexts: [{e2e_cluster.context}]}}
phases:
  - name: before
    steps:
      - name: inventory
        inventory: {{namespaces: [{namespace}], kinds: [ConfigMap, Secret]}}
  - name: rebuild
    steps:
      - name: wait-for-changes
        command: {{run: "test -f {flag}"}}
  - name: after
    steps:
      - name: diff
        reproductionDiff: {{snapshot: inventory, failOn: [missing, extra, changed]}}
"""
    )
    with e2e_cluster.open() as client:
        _platform(client, namespace, password=PASSWORD, mode="fast", extra="retired")
        args = ("--yes", *e2e_cluster.cli_args(), "-o", "json")
        stopped = run_drkit("drill", str(playbook), *args, cwd=tmp_path)
        assert stopped.exit_code == 1, stopped.stderr
        run_id = json.loads(stopped.stdout)["runId"]
        client.delete(ObjectRef("v1", "ConfigMap", namespace, "retired"))
        _platform(client, namespace, password=NEW_PASSWORD, mode="safe", extra="introduced")
    flag.touch()

    resumed = run_drkit("resume", run_id, "--yes", "-o", "json", cwd=tmp_path)
    assert resumed.exit_code == 1, resumed.stderr
    step = next(s for p in json.loads(resumed.stdout)["phases"] for s in p["steps"] if s["name"] == "diff")
    assert step["status"] == "failed"
    _check(step["reproductionDiff"], namespace)
    assert f"missing ConfigMap {namespace}/retired" in step["message"]
    run_dir = tmp_path / ".drkit" / "runs" / run_id
    _no_password_in(
        resumed.stdout,
        resumed.stderr,
        stopped.stdout,
        *(p.read_text() for p in run_dir.rglob("*") if p.is_file() and p.name != "lock"),
    )


def _merged_kubeconfig(handles: list[LabHandle], names: list[str], path: Path) -> Path:
    """One kubeconfig with a context per lab (what a migration's kubeconfig holds: old and new cluster)."""
    yaml = YAML(typ="safe")
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for handle, name in zip(handles, names, strict=True):
        config = yaml.load(handle.kubeconfig.read_text())
        merged["clusters"].append({"name": name, "cluster": config["clusters"][0]["cluster"]})
        merged["users"].append({"name": name, "user": config["users"][0]["user"]})
        merged["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    merged["current-context"] = names[0]
    with path.open("w") as out:
        yaml.dump(merged, out)
    return path


@pytest.mark.lab
@pytest.mark.lab_only
def test_drkit_diff_compares_two_clusters(lab_factory: Callable[..., LabHandle], tmp_path: Path) -> None:
    old, new = lab_factory(), lab_factory()
    kubeconfig = _merged_kubeconfig([old, new], ["old-cluster", "new-cluster"], tmp_path / "kubeconfig")
    namespace = "migrated"
    for handle, password, mode, extra in (
        (old, PASSWORD, "fast", "retired"),
        (new, NEW_PASSWORD, "safe", "introduced"),
    ):
        config = ClusterConfig.from_env({}, kubeconfig=handle.kubeconfig, context=LAB_CONTEXT)
        with Cluster(config) as client:
            _platform(client, namespace, password=password, mode=mode, extra=extra)

    base = ("diff", "--from-context", "old-cluster", "--to-context", "new-cluster", "-n", namespace)
    base += ("--kubeconfig", str(kubeconfig), "--kind", "ConfigMap", "--kind", "Secret")
    result = run_drkit(*base, "-o", "json", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    _check(json.loads(result.stdout), namespace)
    text = run_drkit(*base, cwd=tmp_path)
    assert text.exit_code == 1
    assert "1 missing, 1 extra, 2 changed" in text.stdout
    assert "data.mode: 'fast' → 'safe'" in text.stdout
    assert "data.password: value changed (compared by digest)" in text.stdout
    _no_password_in(result.stdout, result.stderr, text.stdout, text.stderr)
    only_missing = run_drkit(*base, "--ignore", "data", "--fail-on", "extra", cwd=tmp_path)
    assert only_missing.exit_code == 1  # the extra ConfigMap still fails
    none = run_drkit(*base, "--fail-on", "none", cwd=tmp_path)
    assert none.exit_code == 0, none.stdout
