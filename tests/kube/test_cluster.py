"""The Cluster facade against a real (lab) API server over TLS with a bearer token."""

from __future__ import annotations

import io
import json
import stat
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kube_lab import Lab, RecordingSleep, load_crd

from drkit.context import Runtime
from drkit.errors import DrkitError
from drkit.kube import (
    NO_RETRY,
    Cluster,
    ClusterConfig,
    ClusterUnreachable,
    Conflict,
    Invalid,
    KubeError,
    NotFound,
    ObjectRef,
    RetryNotice,
    RetryPolicy,
    ServerError,
    Unauthorized,
    UnknownKind,
    open_cluster,
)
from drkit_lab.kubeconfig import render_kubeconfig, write_kubeconfig
from drkit_lab.tls import ensure_tls

MODEL_API = "mlops.seldon.io/v1alpha1"


def configmap(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"k": "v"},
    }


def model(name: str, finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "apiVersion": MODEL_API,
        "kind": "Model",
        "metadata": {"name": name, "namespace": "default", "finalizers": list(finalizers)},
        "spec": {"storageUri": "s3://mlflow-artifacts/1/models/m-abc/artifacts/"},
    }


def cluster_for(kubeconfig: Path, tmp_path: Path, retry: RetryPolicy = NO_RETRY) -> Cluster:
    return Cluster(
        ClusterConfig.from_env({"KUBECONFIG": str(kubeconfig)}),
        sleep=lambda _: None,
        retry=retry,
    )


def test_inline_certificates_live_in_a_private_directory_removed_at_close(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "system-temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    first = cluster_for(lab.kubeconfig, tmp_path)
    (private,) = temp.iterdir()
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert [f.read_bytes() for f in private.iterdir()] == [lab.ca_pem]
    # The same inline CA again: the kubernetes library would hand out the first Cluster's file.
    second = cluster_for(lab.kubeconfig, tmp_path)
    first.close()
    assert second.get("v1", "Namespace", "default") is not None  # its own copy outlives the first
    second.close()
    assert list(temp.iterdir()) == []


def test_a_certificate_file_the_kubeconfig_names_is_used_where_it_is(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "system-temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    ca = tmp_path / "ca.crt"
    ca.write_bytes(lab.ca_pem)
    named = tmp_path / "named-ca.kubeconfig"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "lab", "cluster": {"server": lab.server.url, "certificate-authority": str(ca)}}
        ],
        "users": [{"name": "admin", "user": {"token": lab.token}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}],
        "current-context": "lab",
    }
    named.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    with cluster_for(named, tmp_path) as cluster:
        assert cluster.get("v1", "Namespace", "default") is not None
        (private,) = temp.iterdir()
        assert list(private.iterdir()) == []  # no copy of it: a key named there would stay where it is


def test_apply_get_list_round_trip(cluster: Cluster) -> None:
    applied = cluster.apply(configmap("settings", tier="a"))
    assert applied["metadata"]["uid"]
    cluster.apply(configmap("other", tier="b"))
    fetched = cluster.get("v1", "ConfigMap", "settings", "default")
    assert fetched is not None
    assert fetched["data"] == {"k": "v"}
    names = [
        o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap", "default", label_selector="tier=a")
    ]
    assert names == ["settings"]
    assert all(o["kind"] == "ConfigMap" for o in cluster.list("v1", "ConfigMap", "default"))
    assert cluster.get("v1", "ConfigMap", "missing", "default") is None
    assert cluster.context == "drkit-lab"


def test_apply_is_idempotent_and_dry_run_writes_nothing(cluster: Cluster) -> None:
    first = cluster.apply(configmap("same"))
    second = cluster.apply(configmap("same"))
    assert first["metadata"]["uid"] == second["metadata"]["uid"]
    cluster.apply(configmap("ghost"), dry_run=True)
    assert cluster.get("v1", "ConfigMap", "ghost", "default") is None


def test_objects_without_namespace_land_in_the_context_namespace(cluster: Cluster) -> None:
    obj = configmap("nameless")
    del obj["metadata"]["namespace"]
    assert cluster.apply(obj)["metadata"]["namespace"] == "default"


def test_merge_patch_with_a_stale_resource_version_is_refused(with_model_crd: Cluster) -> None:
    cluster = with_model_crd
    created = cluster.apply(model("baseline-predictor", ("seldon.model.finalizer",)))
    ref = ObjectRef.of(created)
    stale = created["metadata"]["resourceVersion"]
    cluster.patch_merge(ref, {"metadata": {"labels": {"touched": "yes"}}})
    with pytest.raises(Conflict) as caught:
        cluster.patch_merge(ref, {"metadata": {"finalizers": None}}, resource_version=stale)
    assert "Model default/baseline-predictor" in str(caught.value)
    current = cluster.get(MODEL_API, "Model", "baseline-predictor", "default")
    assert current is not None
    assert current["metadata"]["finalizers"] == ["seldon.model.finalizer"]
    patched = cluster.patch_merge(
        ref, {"metadata": {"finalizers": None}}, resource_version=current["metadata"]["resourceVersion"]
    )
    assert not patched["metadata"].get("finalizers")


def test_json_patch_with_a_test_op(with_model_crd: Cluster) -> None:
    cluster = with_model_crd
    created = cluster.apply(model("m", ("a.example/f", "b.example/f")))
    ref = ObjectRef.of(created)
    ops = [
        {"op": "test", "path": "/metadata/finalizers/0", "value": "a.example/f"},
        {"op": "remove", "path": "/metadata/finalizers/0"},
    ]
    assert cluster.patch_json(ref, ops)["metadata"]["finalizers"] == ["b.example/f"]
    with pytest.raises(KubeError):  # the test op now fails: nothing else is removed
        cluster.patch_json(ref, ops)


def test_create_replace_and_conflicts(cluster: Cluster) -> None:
    created = cluster.create(configmap("made"))
    with pytest.raises(Conflict):
        cluster.create(configmap("made"))
    changed = dict(created, data={"k": "new"})
    replaced = cluster.replace(changed)
    assert replaced["data"] == {"k": "new"}
    with pytest.raises(Conflict):
        cluster.replace(dict(created, data={"k": "stale"}))  # carries the old resourceVersion
    generated = cluster.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"generateName": "run-", "namespace": "default"},
        }
    )
    assert generated["metadata"]["name"].startswith("run-")


def test_delete_reports_finalizers_and_absence(with_model_crd: Cluster) -> None:
    cluster = with_model_crd
    ref = ObjectRef.of(cluster.apply(model("stuck", ("seldon.model.finalizer",))))
    deleted = cluster.delete(ref)
    assert deleted.existed
    assert deleted.pending_finalizers == ("seldon.model.finalizer",)
    current = cluster.get(MODEL_API, "Model", "stuck", "default")
    assert current is not None
    assert current["metadata"]["deletionTimestamp"]
    cluster.patch_merge(
        ref, {"metadata": {"finalizers": None}}, resource_version=current["metadata"]["resourceVersion"]
    )
    assert cluster.get(MODEL_API, "Model", "stuck", "default") is None
    again = cluster.delete(ref)
    assert not again.existed


def test_delete_with_a_stale_precondition_is_refused(cluster: Cluster) -> None:
    created = cluster.apply(configmap("guarded"))
    cluster.apply(dict(configmap("guarded"), data={"k": "changed"}))
    with pytest.raises(Conflict):
        cluster.delete(ObjectRef.of(created), precondition_rv=created["metadata"]["resourceVersion"])
    assert cluster.get("v1", "ConfigMap", "guarded", "default") is not None


def test_finalize_namespace_empties_spec_finalizers(cluster: Cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    cluster.delete(ObjectRef("v1", "Namespace", None, "doomed"))
    result = cluster.finalize_namespace("doomed", [])
    assert not (result.get("spec") or {}).get("finalizers")
    with pytest.raises(NotFound):
        cluster.finalize_namespace("never-existed", [])


def test_unknown_kind_says_the_crd_is_missing(cluster: Cluster) -> None:
    with pytest.raises(UnknownKind) as caught:
        cluster.get(MODEL_API, "Model", "baseline-predictor", "financial-inference")
    assert str(caught.value).startswith(
        "kind Model (mlops.seldon.io/v1alpha1) is not served by this cluster: is its CRD installed?"
    )
    with pytest.raises(UnknownKind):
        cluster.resource_for("v1", "Nonsense")


def test_a_crd_created_later_is_found_without_explicit_invalidation(cluster: Cluster) -> None:
    with pytest.raises(UnknownKind):
        cluster.resource_for(MODEL_API, "Model")
    cluster.apply(load_crd("seldon-models.yaml"))
    assert cluster.resource_for(MODEL_API, "Model").plural == "models"


def test_invalid_objects_show_the_server_causes(cluster: Cluster) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "kind": "Widget"},
            "scope": "Namespaced",
        },
    }
    with pytest.raises(Invalid) as caught:
        cluster.create(crd)
    assert "metadata.name" in str(caught.value)


def test_wrong_token_is_unauthorized(lab: Lab, tmp_path: Path) -> None:
    config = lab.kubeconfig_with("bad-token", token="not-the-token")
    with cluster_for(config, tmp_path) as cluster, pytest.raises(Unauthorized) as caught:
        cluster.get("v1", "ConfigMap", "x", "default")
    assert "refused its credentials" in str(caught.value)
    assert "not-the-token" not in str(caught.value)


def test_unreachable_server(lab: Lab, tmp_path: Path) -> None:
    config = lab.kubeconfig_with("nowhere", server="https://127.0.0.1:1")
    retry = RetryPolicy(attempts=2, base_delay=0)
    with cluster_for(config, tmp_path, retry) as cluster, pytest.raises(ClusterUnreachable) as caught:
        cluster.server_version()
    assert "cannot reach the API server of context drkit-lab at https://127.0.0.1:1" in str(caught.value)


def test_untrusted_server_certificate(lab: Lab, tmp_path: Path) -> None:
    other_ca = ensure_tls(tmp_path / "other-ca").ca_cert.read_bytes()
    path = write_kubeconfig(
        tmp_path / "wrong-ca", render_kubeconfig(server=lab.server.url, ca_pem=other_ca, token=lab.token)
    )
    with cluster_for(path, tmp_path) as cluster, pytest.raises(ClusterUnreachable) as caught:
        cluster.server_version()
    assert "TLS" in str(caught.value)


def test_error_rate_faults_are_absorbed_by_retries(
    lab: Lab, cluster: Cluster, sleeps: RecordingSleep, retries: list[RetryNotice]
) -> None:
    cluster.resource_for(
        "v1", "ConfigMap"
    )  # discovery before the faults, so the counts below are about writes
    lab.set_faults(error_rate=0.4, error_codes=(503, 500, 429), seed=7)
    for i in range(12):
        cluster.apply(configmap(f"cm-{i}"))
        assert cluster.get("v1", "ConfigMap", f"cm-{i}", "default") is not None
    assert len(cluster.list("v1", "ConfigMap", "default")) >= 12
    lab.set_faults()
    assert retries, "an error rate of 40% must have caused retries"
    assert {n.error.status for n in retries} <= {503, 500, 429}
    assert len(sleeps.calls) == len(retries)
    assert 1.0 in sleeps.calls or all(n.error.status != 429 for n in retries)  # Retry-After: 1 was honoured


def test_deletes_and_creates_under_faults_settle_to_the_right_answer(lab: Lab, cluster: Cluster) -> None:
    lab.set_faults(error_rate=0.5, error_codes=(500,), seed=3)
    for i in range(6):
        cluster.create(configmap(f"c-{i}"))
    for i in range(6):
        assert cluster.delete(ObjectRef("v1", "ConfigMap", "default", f"c-{i}")).existed
    lab.set_faults()
    assert not [
        o for o in cluster.list("v1", "ConfigMap", "default") if o["metadata"]["name"].startswith("c-")
    ]


def test_retries_give_up_with_a_server_error(lab: Lab, tmp_path: Path) -> None:
    with cluster_for(lab.kubeconfig, tmp_path, RetryPolicy(attempts=2, base_delay=0)) as cluster:
        cluster.resource_for("v1", "ConfigMap")
        lab.set_faults(error_rate=1.0, error_codes=(503,))
        with pytest.raises(ServerError) as caught:
            cluster.get("v1", "ConfigMap", "x", "default")
    assert caught.value.status == 503


class _Garbage(BaseHTTPRequestHandler):
    """Not a Kubernetes API server: HTML for everything, sometimes with an error status."""

    def _answer(self) -> None:
        body = b"<html>token=abc123secret password=hunter2</html>"
        self.send_response(200 if "version" in self.path else 502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def garbage_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_every_public_call_on_a_bad_server_raises_only_drkit_errors(
    lab: Lab, tmp_path: Path, garbage_server: str
) -> None:
    path = write_kubeconfig(
        tmp_path / "garbage", render_kubeconfig(server=garbage_server, ca_pem=None, token="t")
    )
    ref = ObjectRef("v1", "ConfigMap", "default", "x")
    calls = [
        lambda c: c.server_version(),
        lambda c: c.resource_for("v1", "ConfigMap"),
        lambda c: c.get("v1", "ConfigMap", "x", "default"),
        lambda c: c.list("v1", "ConfigMap"),
        lambda c: c.apply(configmap("x")),
        lambda c: c.create(configmap("x")),
        lambda c: c.replace(configmap("x")),
        lambda c: c.patch_merge(ref, {"data": {}}),
        lambda c: c.patch_json(ref, []),
        lambda c: c.delete(ref),
        lambda c: c.finalize_namespace("x", []),
    ]
    with cluster_for(path, tmp_path, RetryPolicy(attempts=2, base_delay=0)) as cluster:
        for call in calls:
            with pytest.raises(DrkitError) as caught:
                call(cluster)
            assert isinstance(caught.value, KubeError)
            assert "hunter2" not in str(caught.value)
            assert "abc123secret" not in str(caught.value)


def lose_first_answer(cluster: Cluster, monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The first `method` request reaches the server and is processed, but its answer is lost (a 500 from a
    proxy, a dropped connection): the situation in which repeating a write is dangerous."""
    real = cluster._request
    calls: list[str] = []

    def flaky(m: str, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(m)
        answer = real(m, path, *args, **kwargs)
        if m == method and calls.count(m) == 1:
            raise ServerError("answer lost", status=500)
        return answer

    monkeypatch.setattr(cluster, "_request", flaky)
    return calls


def test_create_whose_answer_was_lost_returns_the_object(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.resource_for("v1", "ConfigMap")  # discovery first: only the create's requests are counted
    calls = lose_first_answer(cluster, monkeypatch, "POST")
    created = cluster.create(configmap("once"))
    assert created["metadata"]["name"] == "once"
    assert calls == ["POST", "POST", "GET"]  # the repeat got 409 AlreadyExists, the object was read back


GENERATED = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"generateName": "run-", "namespace": "default"},
}


def _generated_names(cluster: Cluster) -> list[str]:
    names = (str(c["metadata"]["name"]) for c in cluster.list("v1", "ConfigMap", "default"))
    return sorted(n for n in names if n.startswith("run-"))


def test_generated_create_whose_answer_was_lost_is_found_not_repeated(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.resource_for("v1", "ConfigMap")
    calls = lose_first_answer(cluster, monkeypatch, "POST")
    created = cluster.create(GENERATED, look_before_repeat=True)
    assert calls == ["POST", "GET"]  # the repeat looked (a LIST by the create's token) and found it
    assert _generated_names(cluster) == [created["metadata"]["name"]]


def test_generated_create_that_never_landed_is_repeated_once_looked_for(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cluster._request
    calls: list[str] = []

    def refused_once(m: str, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(m)
        if m == "POST" and calls.count("POST") == 1:
            raise ServerError("not processed", status=503)
        return real(m, path, *args, **kwargs)

    cluster.resource_for("v1", "ConfigMap")
    monkeypatch.setattr(cluster, "_request", refused_once)
    created = cluster.create(GENERATED, look_before_repeat=True)
    assert calls == ["POST", "GET", "POST"]
    assert _generated_names(cluster) == [created["metadata"]["name"]]


def test_generated_create_without_a_token_is_not_repeated_after_a_lost_answer(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.resource_for("v1", "ConfigMap")
    lose_first_answer(cluster, monkeypatch, "POST")
    with pytest.raises(ServerError):
        cluster.create(GENERATED)
    assert len(_generated_names(cluster)) == 1  # it did land: a blind repeat would have made a twin


def test_delete_whose_answer_was_lost_still_counts_as_deleted(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = ObjectRef.of(cluster.apply(configmap("bye")))
    lose_first_answer(cluster, monkeypatch, "DELETE")
    assert cluster.delete(ref).existed  # the repeat got 404: our first attempt removed it


def test_guarded_patch_whose_answer_was_lost_is_recognised(
    with_model_crd: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = with_model_crd
    created = cluster.apply(model("m", ("seldon.model.finalizer",)))
    calls = lose_first_answer(cluster, monkeypatch, "PATCH")
    patched = cluster.patch_merge(
        ObjectRef.of(created),
        {"metadata": {"finalizers": None}},
        resource_version=created["metadata"]["resourceVersion"],
    )
    assert not patched["metadata"].get("finalizers")
    assert calls == ["PATCH", "PATCH", "GET"]  # 409 on the repeat, then proof that our change is in place


def test_guarded_patch_conflict_after_a_lost_answer_is_still_a_conflict(
    with_model_crd: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = with_model_crd
    created = cluster.apply(model("m2", ("seldon.model.finalizer",)))
    ref = ObjectRef.of(created)
    real = cluster._request
    state = {"n": 0}

    def someone_else_writes_first(m: str, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if m == "PATCH" and state["n"] == 0:
            state["n"] += 1
            real(
                "PATCH",
                path,
                args[0],
                (),
                {"metadata": {"labels": {"other": "writer"}}},
                "application/merge-patch+json",
            )
            raise ServerError("answer lost", status=500)
        return real(m, path, *args, **kwargs)

    monkeypatch.setattr(cluster, "_request", someone_else_writes_first)
    with pytest.raises(Conflict):
        cluster.patch_merge(
            ref, {"metadata": {"finalizers": None}}, resource_version=created["metadata"]["resourceVersion"]
        )


def test_open_cluster_uses_the_runtime_env_and_sleep(lab: Lab, tmp_path: Path) -> None:
    slept: list[float] = []
    runtime = Runtime(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={"KUBECONFIG": str(lab.kubeconfig)},
        cwd=tmp_path,
        sleep=slept.append,
    )
    with open_cluster(runtime, retry=RetryPolicy(attempts=3, base_delay=0.25)) as cluster:
        cluster.resource_for("v1", "ConfigMap")
        lab.set_faults(error_rate=1.0, error_codes=(503,))
        with pytest.raises(ServerError):
            cluster.get("v1", "ConfigMap", "x", "default")
    assert cluster.context == "drkit-lab"
    assert slept == [0.25, 0.5]  # the Runtime's sleep was used, with the policy's backoff


def test_guarded_delete_whose_answer_was_lost_is_recognised(
    with_model_crd: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = with_model_crd
    created = cluster.apply(model("held", ("seldon.model.finalizer",)))
    lose_first_answer(cluster, monkeypatch, "DELETE")
    deleted = cluster.delete(ObjectRef.of(created), precondition_rv=created["metadata"]["resourceVersion"])
    assert deleted.existed
    assert deleted.pending_finalizers == ("seldon.model.finalizer",)


def test_quick_requests_are_never_repeated_and_only_in_the_thread_that_asked(
    lab: Lab, cluster: Cluster, retries: list[RetryNotice]
) -> None:
    cluster.resource_for("v1", "ConfigMap")  # discovery before the faults
    lab.set_faults(error_rate=1.0, error_codes=(503,))
    other_thread: list[BaseException] = []

    def elsewhere() -> None:  # e.g. the drill lease renewal, during a collection
        try:
            cluster.get("v1", "ConfigMap", "x", "default")
        except ServerError as exc:
            other_thread.append(exc)

    with cluster.quick_requests(5.0):
        with pytest.raises(ServerError):
            cluster.get("v1", "ConfigMap", "x", "default")
        assert retries == []
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    assert other_thread
    assert len(retries) == 7  # the other thread kept the cluster's policy: 8 attempts


def test_quick_requests_give_up_after_their_own_timeout(lab: Lab, cluster: Cluster) -> None:
    lab.set_faults(latency_ms=1000)  # without quick_requests, the answer (None: not found) would come
    with cluster.quick_requests(0.2), pytest.raises(ClusterUnreachable):
        cluster.get("v1", "ConfigMap", "x", "default")
