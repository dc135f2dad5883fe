"""Gathering what on-call looks at next after a failure, against the lab's API server (no controllers, no
kubelet: pod logs cannot be read, which is noted like any other read that fails)."""

from __future__ import annotations

import base64
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_kinds import run
from helpers import WritePlaybook
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine.collect import FailureEvidence, collect_failure
from drkit.engine.redaction import Masker
from drkit.engine.request import RunMode
from drkit.kube import Cluster, ObjectRef, open_cluster
from drkit.kube.errors import ClusterUnreachable
from drkit.playbook.model import CollectSpec
from drkit.report.model import Outcome
from drkit.secret_registry import SecretRegistry

SECRET_VALUE = "hunter2-very-secret"
DEPLOYMENT = ObjectRef("apps/v1", "Deployment", "ml", "api")
SECRET = ObjectRef("v1", "Secret", "ml", "creds")
# kubectl's own name, spelled out (not drkit's constant), so that a wrong constant in drkit fails the test.
KUBECTL_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _event(
    name: str, kind: str, object_name: str, kind_of_event: str, reason: str, message: str, at: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "ml"},
        "involvedObject": {"kind": kind, "namespace": "ml", "name": object_name},
        "type": kind_of_event,
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
        "count": 1,
    }


@pytest.fixture
def cluster(lab: Lab, tmp_path: Path) -> Iterator[Cluster]:
    runtime = Runtime(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), env={}, cwd=tmp_path)
    opened = open_cluster(runtime, kubeconfig=lab.kubeconfig)
    opened.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml"}})
    deployment = opened.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "ml"},
            "spec": {
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "pause"}]},
                },
            },
        }
    )
    _set_status(lab, "apps/v1", "Deployment", "api", {"conditions": [PROGRESS_FAILED, {"type": "Available"}]})
    replica_set = opened.create(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": "api-1",
                "namespace": "ml",
                "ownerReferences": [_owner(deployment)],
            },
            "spec": {
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "pause"}]},
                },
            },
        }
    )
    # The owned pod is on a node the lab does not know: its log cannot be read. The other is on none yet: an
    # empty log, as kube-apiserver answers.
    for name, owners, node in (("api-1-x", [_owner(replica_set)], {"nodeName": "gone"}), ("other", [], {})):
        opened.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": "ml",
                    "labels": {"app": name},
                    "ownerReferences": owners,
                },
                "spec": {"containers": [{"name": "main", "image": "pause"}], **node},
            }
        )
    opened.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "creds",
                "namespace": "ml",
                # What `kubectl apply` keeps: the Secret's data again.
                "annotations": {KUBECTL_LAST_APPLIED: json.dumps({"stringData": {"password": SECRET_VALUE}})},
            },
            "stringData": {"password": SECRET_VALUE},
        }
    )
    for event in (
        _event(
            "e1", "Deployment", "api", "Normal", "ScalingReplicaSet", "Scaled up to 1", "2026-01-01T00:00:01Z"
        ),
        _event(
            "e2",
            "Deployment",
            "api",
            "Warning",
            "ProgressDeadlineExceeded",
            "no progress",
            "2026-01-01T00:00:02Z",
        ),
        _event("e3", "Pod", "other", "Warning", "BackOff", "restarting", "2026-01-01T00:00:03Z"),
        _event("e4", "Secret", "creds", "Normal", "Read", f"value {SECRET_VALUE}", "2026-01-01T00:00:04Z"),
        _event(
            "e5", "Pod", "api-1-x", "Warning", "Failed", "Error: ImagePullBackOff", "2026-01-01T00:00:05Z"
        ),
    ):
        opened.create(event)
    with opened:
        yield opened


PROGRESS_FAILED = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}


def _set_status(lab: Lab, api_version: str, kind: str, name: str, status: dict[str, Any]) -> None:
    """Write the status a controller would write (the lab runs none)."""
    rt = lab.store.registry.by_kind(api_version, kind)
    assert rt is not None

    def change(obj: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "status": status}

    lab.store.mutate(rt, "ml", name, change, subresource="status")


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"], "uid": meta["uid"]}


def _ticking(step: float = 0.0) -> Any:
    counter = itertools.count()
    return lambda: next(counter) * step


def _read_all(directory: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.rglob("*")) if p.is_file())


def test_a_failed_step_s_objects_are_gathered_with_events_and_owned_pods(
    cluster: Cluster, tmp_path: Path
) -> None:
    evidence = FailureEvidence("deploy", 2, (DEPLOYMENT, SECRET), ())

    report = collect_failure(lambda: cluster, evidence, tmp_path / "run", Masker(cluster.secrets), _ticking())

    directory = tmp_path / "run" / "collected" / "deploy-2"
    assert report.directory == "collected/deploy-2"
    assert set(report.files) == {
        "objects/deployment-ml-api.yaml",
        "objects/secret-ml-creds.yaml",
        "events.txt",
    }
    assert "name: api" in (directory / "objects/deployment-ml-api.yaml").read_text()
    events = (directory / "events.txt").read_text().splitlines()
    assert [line.split("  ")[2] for line in events] == [
        "ScalingReplicaSet",
        "ProgressDeadlineExceeded",
        "Read",
        "Failed",
    ]
    assert report.warnings == (  # the Deployment's, then its pod's (found through its ReplicaSet)
        "Deployment ml/api: ProgressDeadlineExceeded: no progress",
        "Pod ml/api-1-x: Failed: Error: ImagePullBackOff",
    )
    assert report.conditions == (
        "Deployment ml/api: Progressing=False (ProgressDeadlineExceeded), Available=?",
    )
    assert "reason: ProgressDeadlineExceeded" in (directory / "objects/deployment-ml-api.yaml").read_text()
    # The Deployment's pod (through its ReplicaSet) was found; the lab has no kubelet to ask for its log.
    assert any(note.startswith("log of ml/api-1-x main:") for note in report.notes), report.notes
    assert not any("other" in note for note in report.notes)
    assert SECRET_VALUE not in _read_all(directory)
    secret = (directory / "objects/secret-ml-creds.yaml").read_text()
    assert "password" not in secret
    assert KUBECTL_LAST_APPLIED not in secret
    assert "name: creds" in secret


def test_a_namespace_s_events_and_pods_are_listed_once_however_many_of_its_objects_failed(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed: list[tuple[str, str | None]] = []
    list_objects = cluster.list

    def counting(api_version: str, kind: str, namespace: str | None = None, **kw: Any) -> Any:
        listed.append((kind, namespace))
        return list_objects(api_version, kind, namespace, **kw)

    monkeypatch.setattr(cluster, "list", counting)
    pod = ObjectRef("v1", "Pod", "ml", "other")
    evidence = FailureEvidence("deploy", 1, (DEPLOYMENT, SECRET, pod), (CollectSpec("events", "ml"),))

    report = collect_failure(lambda: cluster, evidence, tmp_path, Masker(cluster.secrets), _ticking())

    # What a careful script would ask: the namespace's events, its ReplicaSets and its pods, once each.
    assert sorted(listed) == [("Event", "ml"), ("Pod", "ml"), ("ReplicaSet", "ml")]
    assert "Deployment ml/api: ProgressDeadlineExceeded: no progress" in report.warnings
    assert "Pod ml/other: BackOff: restarting" in report.warnings


def test_a_pod_log_is_kept_only_with_the_values_of_the_secrets_the_pod_takes_masked(
    lab: Lab, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written past drkit (as any workload's Secret is): drkit has never read it, so nothing masks it yet.
    token = "tok-5e1f0c2b9a"
    secrets = lab.store.registry.by_kind("v1", "Secret")
    pods = lab.store.registry.by_kind("v1", "Pod")
    assert secrets is not None
    assert pods is not None
    lab.store.create(secrets, _secret("api-token", token))
    for name, secret in (("worker", "api-token"), ("orphan", "never-made")):
        lab.store.create(
            pods,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": "ml", "labels": {"app": "worker"}},
                "spec": {
                    "containers": [
                        {"name": "main", "image": "w", "envFrom": [{"secretRef": {"name": secret}}]}
                    ]
                },
            },
        )
    # What the workloads printed: their token, as a careless one does at start-up (the lab has no kubelet
    # here, so the text is put where its answer would be; the adapter still reads the pods' Secrets first).
    monkeypatch.setattr(cluster, "_log_text", lambda *_: f"starting with {token}\n")
    evidence = FailureEvidence("deploy", 1, (), (CollectSpec("logs", "ml", selector="app=worker"),))

    report = collect_failure(lambda: cluster, evidence, tmp_path, Masker(cluster.secrets), _ticking())

    assert report.files == ("logs/ml-worker-main.log",)
    assert (tmp_path / report.directory / "logs/ml-worker-main.log").read_text() == "starting with ****\n"
    # The other pod's Secret cannot be read, so nothing could mask it: its log is not written at all.
    assert any(n.startswith("log of ml/orphan not kept") for n in report.notes), report.notes
    assert token not in _read_all(tmp_path)


def _secret(name: str, value: str) -> dict[str, Any]:
    encoded = base64.b64encode(value.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "ml"},
        "data": {"token": encoded},
    }


def test_the_playbook_s_collect_lists_add_namespace_events_and_selected_pods(
    cluster: Cluster, tmp_path: Path
) -> None:
    extra = (
        CollectSpec("events", "ml"),
        CollectSpec("logs", "ml", selector="app=other", tail=5),
        CollectSpec("logs", "ml", selector="app=nothing"),
    )
    evidence = FailureEvidence("deploy", 1, (), extra)

    report = collect_failure(lambda: cluster, evidence, tmp_path, Masker(cluster.secrets), _ticking())

    assert report.files == ("logs/ml-other-main.log", "events.txt")
    events = (tmp_path / report.directory / "events.txt").read_text()
    assert len(events.splitlines()) == 5  # every event of the namespace
    assert SECRET_VALUE not in events  # registered when the fixture wrote the Secret
    assert "Pod ml/other: BackOff: restarting" in report.warnings
    assert report.notes == ("no pod in ml matches app=nothing",)


def test_collection_stops_when_its_budget_is_spent(cluster: Cluster, tmp_path: Path) -> None:
    evidence = FailureEvidence("deploy", 1, (DEPLOYMENT, SECRET), ())

    # Each clock reading is 10 s after the last: the first read starts in time, none after the budget.
    report = collect_failure(
        lambda: cluster, evidence, tmp_path, Masker(cluster.secrets), _ticking(10.0), budget=15.0
    )

    assert report.files == ("objects/deployment-ml-api.yaml",)
    assert report.notes[-1].startswith(
        "stopped after the 15s collection budget; not read: events of Deployment"
    )


def test_a_cluster_that_cannot_be_opened_is_noted_not_raised(tmp_path: Path) -> None:
    def no_cluster() -> Cluster:
        raise ClusterUnreachable("the API server did not answer")

    report = collect_failure(
        no_cluster, FailureEvidence("p", 1, (DEPLOYMENT,), ()), tmp_path, Masker(SecretRegistry()), _ticking()
    )

    assert report.files == ()
    assert report.notes == ("no cluster to gather from: the API server did not answer",)


WAITING = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: unready}
target: {contexts: [drkit-lab]}
collect:
  - events: {namespace: ml}
phases:
  - name: deploy
    steps:
      - name: api-ready
        wait:
          objects: [{apiVersion: apps/v1, kind: Deployment, namespace: ml, name: api}]
          timeout: 1s
"""


def test_a_failed_wait_is_followed_by_what_it_waited_on_in_the_run_directory_and_reports(
    cluster: Cluster, lab: Lab, tmp_path: Path, write_playbook: WritePlaybook
) -> None:
    runtime = lab.runtime(tmp_path)

    report = run(write_playbook(WAITING), runtime, RunMode.RECOVER)

    assert report.outcome is Outcome.FAILED
    # Its status says its progress deadline passed: the wait gives up at once, and collection follows.
    assert report.message.startswith(
        "step deploy/api-ready failed: 1 of 1 object(s) failed: Deployment ml/api"
    )
    collected = report.steps[0].collected
    assert collected is not None
    assert {"objects/deployment-ml-api.yaml", "events.txt"} <= set(collected.files)
    assert "Deployment ml/api: ProgressDeadlineExceeded: no progress" in collected.warnings
    directory = runtime.state_dir / "runs" / str(report.run_id)
    assert (directory / "collected" / "deploy-1" / "objects" / "deployment-ml-api.yaml").is_file()
    saved = json.loads((directory / "report.json").read_text())
    assert saved["phases"][0]["steps"][0]["collected"]["directory"] == "collected/deploy-1"
    markdown = (directory / "report.md").read_text()
    assert "- gathered into collected/deploy-1/: objects/deployment-ml-api.yaml" in markdown
    assert "- warning event: Deployment ml/api: ProgressDeadlineExceeded: no progress" in markdown
    assert "- conditions of Deployment ml/api: Progressing=False (ProgressDeadlineExceeded)" in markdown


def test_a_collection_that_breaks_is_noted_and_the_run_reports_its_own_failure(
    cluster: Cluster, lab: Lab, tmp_path: Path, write_playbook: WritePlaybook, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug in collection")

    monkeypatch.setattr("drkit.engine.playbook_run.collect_failure", broken)

    report = run(write_playbook(WAITING), lab.runtime(tmp_path), RunMode.RECOVER)

    assert report.outcome is Outcome.FAILED
    assert report.message.startswith("step deploy/api-ready failed: 1 of 1 object(s) failed")
    collected = report.steps[0].collected
    assert collected is not None
    assert collected.notes == ("gathering failed: RuntimeError: a bug in collection",)
