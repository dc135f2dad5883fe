"""The patch flavours on plain dicts: what kubectl and clients rely on."""

from __future__ import annotations

import pytest

from drkit_lab.apiserver.errors import ApiError
from drkit_lab.apiserver.patch import apply_merge, json_patch, merge_patch, parse_apply_body, strategic_merge

POD_SPEC = {
    "containers": [
        {
            "name": "a",
            "image": "a:1",
            "ports": [{"containerPort": 80, "name": "http"}],
            "env": [{"name": "X", "value": "1"}],
        },
        {"name": "b", "image": "b:1"},
    ],
    "volumes": [{"name": "v", "emptyDir": {}}],
}


def test_strategic_merge_merges_named_lists_and_honours_directives() -> None:
    patch = {
        "containers": [
            {
                "name": "a",
                "env": [{"name": "Y", "value": "2"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
            },
            {"name": "b", "$patch": "delete"},
            {"name": "c", "image": "c:1"},
        ],
        "$setElementOrder/containers": [{"name": "a"}, {"name": "c"}],
        "volumes": [{"name": "v", "$patch": "delete"}],
    }
    merged = strategic_merge(POD_SPEC, patch)
    assert [c["name"] for c in merged["containers"]] == ["a", "c"]
    first = merged["containers"][0]
    assert first["image"] == "a:1"
    assert [e["name"] for e in first["env"]] == ["X", "Y"]
    assert first["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
    assert merged["volumes"] == []
    assert "$setElementOrder/containers" not in merged


def test_strategic_merge_replace_and_delete_maps_and_replaces_finalizers() -> None:
    obj = {
        "metadata": {"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]},
        "spec": {"selector": {"k": "v"}},
    }
    patch = {
        "metadata": {"labels": {"$patch": "replace", "c": "3"}, "finalizers": ["z"]},
        "spec": {"selector": {"$patch": "delete"}},
    }
    merged = strategic_merge(obj, patch)
    assert merged["metadata"] == {"labels": {"c": "3"}, "finalizers": ["z"]}
    assert merged["spec"] == {}
    removed = strategic_merge(obj, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert removed["metadata"]["finalizers"] == ["y"]


def test_merge_patch_null_deletes_and_lists_replace() -> None:
    obj = {"metadata": {"finalizers": ["a"], "labels": {"x": "1"}}, "spec": {"list": [1, 2]}}
    merged = merge_patch(obj, {"metadata": {"finalizers": None}, "spec": {"list": [3]}})
    assert merged == {"metadata": {"labels": {"x": "1"}}, "spec": {"list": [3]}}


def test_json_patch_operations_and_failing_test() -> None:
    obj = {"spec": {"replicas": 1, "items": ["a"]}, "metadata": {"labels": {"a/b": "1"}}}
    patched = json_patch(
        obj,
        [
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 2},
            {"op": "add", "path": "/spec/items/-", "value": "b"},
            {"op": "remove", "path": "/metadata/labels/a~1b"},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
            {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
        ],
    )
    assert patched == {"spec": {"replicas": 2, "items": ["a", "b"], "moved": 2}, "metadata": {"labels": {}}}
    with pytest.raises(ApiError) as failed:
        json_patch(obj, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert failed.value.code == 422


def test_apply_accepts_yaml_and_merges_maps_replacing_lists() -> None:
    applied = parse_apply_body(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  b: '2'\n")
    live = {"metadata": {"name": "c", "uid": "u"}, "data": {"a": "1"}, "spec": {"l": [1, 2]}}
    merged = apply_merge(live, {**applied, "spec": {"l": [3]}})
    assert merged["data"] == {"a": "1", "b": "2"}
    assert merged["metadata"]["uid"] == "u"
    assert merged["spec"]["l"] == [3]
