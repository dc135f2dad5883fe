"""Normalisation and diffing: deleted, added and changed objects; Secrets compared by digest, never shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drkit.report.reproduction import Change, DiffReport
from drkit.reproduction.diff import PathError, Rule, diff_inventories, parse_path, rule_of, show_path
from drkit.reproduction.inventory import Inventory, KindRef, is_generated, key_of, normalise

SALT = bytes.fromhex("00" * 16)
PASSWORD = "hunter2-not-for-reports"


def _obj(kind: str, name: str, spec: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    api = "mlops.seldon.io/v1alpha1" if kind == "Model" else "v1"
    meta = {
        "name": name,
        "namespace": "ns",
        "uid": f"uid-{name}",
        "resourceVersion": "42",
        "generation": 3,
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "managedFields": [{"manager": "kubectl"}],
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(extra)},
        "ownerReferences": [{"kind": "Server", "name": "mlserver", "uid": f"owner-{name}"}],
    }
    obj: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": meta, "status": {"ready": True}}
    if spec is not None:
        obj["spec"] = spec
    obj.update(extra)
    return obj


def _inventory(*objects: dict[str, Any]) -> Inventory:
    normalised = {key_of(o): normalise(o, SALT) for o in objects}
    return Inventory(("ns",), (KindRef("", "v1", "ConfigMap"),), normalised, SALT.hex())


def test_normalisation_drops_what_a_rebuild_changes() -> None:
    service = _obj(
        "Service",
        "mlserver",
        {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "ports": [{"port": 9000, "nodePort": 31000}]},
    )
    first = normalise(service, SALT)
    rebuilt = _obj(
        "Service",
        "mlserver",
        {"clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"], "ports": [{"port": 9000, "nodePort": 32000}]},
    )
    rebuilt["metadata"].update(uid="other", resourceVersion="7", creationTimestamp="2026-02-02T00:00:00Z")
    assert normalise(rebuilt, SALT) == first
    assert "status" not in first
    assert set(first["metadata"]) == {"name", "namespace", "ownerReferences"}
    assert first["metadata"]["ownerReferences"] == [{"kind": "Server", "name": "mlserver"}]
    assert first["spec"] == {"ports": [{"port": 9000}]}


def test_generated_objects_are_not_inventoried() -> None:
    assert is_generated(_obj("Pod", "mlserver-0"))
    assert is_generated({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}})
    assert is_generated(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "t"},
            "type": "kubernetes.io/service-account-token",
        }
    )
    assert not is_generated(_obj("ConfigMap", "pipeline-config"))


def test_deleted_added_and_changed_objects_with_their_paths() -> None:
    before = _inventory(
        _obj("ConfigMap", "gone", data={"a": "1"}),
        _obj("ConfigMap", "config", data={"mode": "fast", "drop": "x"}),
        _obj("Model", "baseline", {"storageUri": "s3://b/1/models/m-old/artifacts"}),
    )
    after = _inventory(
        _obj("ConfigMap", "new", data={"a": "1"}),
        _obj("ConfigMap", "config", data={"mode": "slow", "added": "y"}),
        _obj("Model", "baseline", {"storageUri": "s3://b/1/models/m-old/artifacts"}),
    )
    report = diff_inventories(before, after, labels=("before", "after"), fail_on=("missing",))
    by_name = {o.name: o for o in report.objects}
    assert {n: o.change for n, o in by_name.items()} == {
        "gone": Change.MISSING,
        "new": Change.EXTRA,
        "config": Change.CHANGED,
    }
    changed = {f.path: (f.change, f.old, f.new) for f in by_name["config"].fields}
    assert changed == {
        "data.mode": ("changed", "fast", "slow"),
        "data.drop": ("removed", "x", None),
        "data.added": ("added", None, "y"),
    }
    assert report.compared == 4
    assert report.summary() == "1 missing, 1 extra, 1 changed of 4 object(s) compared"
    assert [o.name for o in report.failing] == ["gone"]
    assert not report.passed


def test_ignored_paths_are_not_compared_and_expected_changes_do_not_fail() -> None:
    before = _inventory(
        _obj("Model", "baseline", {"storageUri": "s3://b/m-old", "server": "mlserver"}, metadata_extra=1)
    )
    after = _inventory(
        _obj("Model", "baseline", {"storageUri": "s3://b/m-new", "server": "mlserver"}, metadata_extra=2)
    )
    fail_on = ("missing", "extra", "changed")
    plain = diff_inventories(before, after, labels=("a", "b"), fail_on=fail_on)
    assert {f.path for f in plain.objects[0].fields} == {"spec.storageUri", "metadata_extra"}
    expected = diff_inventories(
        before,
        after,
        labels=("a", "b"),
        ignore=(rule_of("metadata_extra"),),
        expect=(rule_of({"kind": "Model", "path": "spec.storageUri"}),),
        fail_on=fail_on,
    )
    (model,) = expected.objects
    assert model.accepted
    assert [(f.path, f.old, f.new, f.accepted) for f in model.fields] == [
        ("spec.storageUri", "s3://b/m-old", "s3://b/m-new", True)
    ]
    assert expected.passed
    assert "1 changed (1 expected)" in expected.summary()
    other_kind = diff_inventories(
        before,
        after,
        labels=("a", "b"),
        ignore=(rule_of("metadata_extra"),),
        expect=(Rule(path=parse_path("spec.storageUri"), kind="Server"),),
        fail_on=fail_on,
    )
    assert not other_kind.passed


def test_a_changed_secret_names_its_keys_and_never_its_values() -> None:
    before = _inventory(_obj("Secret", "creds", data={"password": PASSWORD, "user": "svc", "old": "o"}))
    after = _inventory(_obj("Secret", "creds", data={"password": PASSWORD + "!", "user": "svc", "new": "n"}))
    report = diff_inventories(before, after, labels=("a", "b"))
    (creds,) = report.objects
    assert {(f.path, f.change, f.secret) for f in creds.fields} == {
        ("data.password", "changed", True),
        ("data.old", "removed", True),
        ("data.new", "added", True),
    }
    assert all(f.old is None and f.new is None for f in creds.fields)
    text = (
        json.dumps(report.to_json())
        + json.dumps(before.to_json())
        + " ".join(o.describe() for o in report.objects)
    )
    assert PASSWORD not in text
    assert "svc" not in json.dumps(before.to_json())  # unchanged values are digests too
    assert DiffReport.from_json(report.to_json()) == report


def test_the_same_value_under_the_same_salt_is_equal_and_under_another_is_not() -> None:
    a = normalise(_obj("Secret", "s", data={"k": "v"}), SALT)["data"]["k"]
    b = normalise(_obj("Secret", "s", data={"k": "v"}), SALT)["data"]["k"]
    c = normalise(_obj("Secret", "s", data={"k": "v"}), bytes.fromhex("11" * 16))["data"]["k"]
    assert a == b != c
    assert "v" not in a.removeprefix("hmac-sha256:") or len(a) > 40


def test_paths_parse_and_print_back() -> None:
    assert parse_path('metadata.annotations["drkit.io/x"]') == ("metadata", "annotations", "drkit.io/x")
    assert parse_path("spec.containers[*].image") == ("spec", "containers", "*", "image")
    assert show_path(("spec", "containers", 0, "image")) == "spec.containers[0].image"
    assert (
        show_path(("metadata", "labels", "app.kubernetes.io/part-of"))
        == 'metadata.labels["app.kubernetes.io/part-of"]'
    )
    with pytest.raises(PathError):
        parse_path("spec..x[")
