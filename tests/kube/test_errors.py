"""Error translation: the message says what failed and what to do, and never carries a secret."""

from __future__ import annotations

import json
import ssl

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from drkit.errors import AdapterError, ExitCode
from drkit.kube.errors import (
    ClusterUnreachable,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Operation,
    ServerError,
    Unauthorized,
    redact,
    translate,
)
from drkit.kube.refs import ResourceInfo

TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik1hZ2ljIn0.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXNlY3JldA"
PASSWORD = "hunter2-very-secret-pw"
MODELS = ResourceInfo("mlops.seldon.io", "v1alpha1", "Model", "models", namespaced=True)
NAMESPACES = ResourceInfo("", "v1", "Namespace", "namespaces", namespaced=False)
OP = Operation("delete", "prod-east", MODELS, "financial-inference", "baseline-predictor")


def api_exception(status: int, body: object, headers: dict[str, str] | None = None) -> ApiException:
    exc = ApiException(
        status=status, reason="Reason", body=json.dumps(body) if not isinstance(body, str) else body
    )
    exc.headers = headers or {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    return exc


def status_body(
    code: int, message: str, reason: str = "", causes: list[dict[str, str]] | None = None
) -> dict[str, object]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": {"causes": causes or []},
    }


def test_forbidden_names_verb_resource_namespace_and_the_rule_to_add() -> None:
    error = translate(
        api_exception(
            403, status_body(403, 'models.mlops.seldon.io "baseline-predictor" is forbidden', "Forbidden")
        ),
        OP,
        "https://10.0.0.1",
    )
    assert isinstance(error, Forbidden)
    assert error.message == (
        "the credentials of context prod-east may not delete models.mlops.seldon.io in namespace "
        "financial-inference: add a Role rule "
        "{apiGroups: [mlops.seldon.io], resources: [models], verbs: [delete]}"
    )
    assert error.hint is not None
    assert "is forbidden" in error.hint


def test_a_role_granting_more_than_its_creator_holds_names_what_is_missing_not_a_verb_to_add() -> None:
    # The API server's words when a Role would escalate its creator (the verb itself is allowed).
    message = (
        'roles.rbac.authorization.k8s.io "pipeline-runner" is forbidden: user '
        '"system:serviceaccount:drkit:drkit" (groups=["system:serviceaccounts" "system:authenticated"]) is '
        "attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:["argoproj.io"], Resources:["workflowtaskresults"], Verbs:["create" "patch"]}'
    )
    roles = ResourceInfo("rbac.authorization.k8s.io", "v1", "Role", "roles", namespaced=True)
    op = Operation("patch", "drkit-lab", roles, "financial-mlops-pytorch", "pipeline-runner")
    error = translate(api_exception(403, status_body(403, message, "Forbidden")), op, "h")
    assert isinstance(error, Forbidden)
    assert "add a Role rule" not in error.message
    assert "roles.rbac.authorization.k8s.io pipeline-runner" in error.message
    assert 'Resources:["workflowtaskresults"], Verbs:["create" "patch"]' in error.message
    assert error.hint is not None
    assert "drkit rbac" in error.hint


def test_forbidden_on_a_cluster_scoped_core_kind_asks_for_a_cluster_role() -> None:
    op = Operation("update", "lab", NAMESPACES, None, "financial-inference")
    error = translate(api_exception(403, status_body(403, "no")), op, "h")
    assert "cluster-wide" in str(error)
    assert 'ClusterRole rule {apiGroups: [""], resources: [namespaces], verbs: [update]}' in str(error)


def test_not_found_names_the_object() -> None:
    error = translate(api_exception(404, status_body(404, "not there", "NotFound")), OP, "h")
    assert isinstance(error, NotFound)
    assert str(error).startswith("Model financial-inference/baseline-predictor not found")


def test_conflict_shows_the_server_message() -> None:
    message = 'Operation cannot be fulfilled on models "baseline-predictor": the object has been modified'
    error = translate(api_exception(409, status_body(409, message, "Conflict")), OP, "h")
    assert isinstance(error, Conflict)
    assert "the object has been modified" in str(error)
    assert error.reason == "Conflict"


def test_invalid_lists_the_field_causes() -> None:
    body = status_body(
        422,
        "Model.mlops.seldon.io is invalid",
        "Invalid",
        [
            {"field": "spec.storageUri", "message": "Required value"},
            {"field": "spec.replicas", "message": "must be >= 0"},
        ],
    )
    error = translate(api_exception(422, body), OP, "h")
    assert isinstance(error, Invalid)
    assert "spec.storageUri: Required value; spec.replicas: must be >= 0" in str(error)


def test_unauthorized_says_the_credentials_were_refused() -> None:
    error = translate(api_exception(401, status_body(401, "Unauthorized")), OP, "h")
    assert isinstance(error, Unauthorized)
    assert "refused its credentials" in str(error)
    assert error.exit_code is ExitCode.DRILL_FAILED


def test_server_errors_keep_status_and_retry_after() -> None:
    error = translate(api_exception(429, status_body(429, "slow down"), {"Retry-After": "7"}), OP, "h")
    assert isinstance(error, ServerError)
    assert (error.status, error.retry_after) == (429, 7.0)
    gone = translate(api_exception(410, status_body(410, "too old", "Expired")), OP, "h")
    assert isinstance(gone, Gone)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422, 429, 500, 503])
def test_no_secret_from_body_or_headers_reaches_the_message(status: int) -> None:
    leaky = status_body(
        status,
        f'Secret "db" is invalid: data.password: "{PASSWORD}" token={TOKEN} Authorization: Bearer {TOKEN}',
        causes=[{"field": "stringData.password", "message": f"password: {PASSWORD}"}],
    )
    leaky["object"] = {
        "data": {"password": "aHVudGVyMi12ZXJ5LXNlY3JldC1wdw=="},
        "stringData": {"token": TOKEN},
    }
    error = translate(api_exception(status, leaky), OP, "h")
    text = f"{error}\n{error.hint or ''}\n{error!r}"
    assert TOKEN not in text
    assert PASSWORD not in text
    assert "aHVudGVyMi12ZXJ5LXNlY3JldC1wdw" not in text
    assert error.__cause__ is None  # the ApiException (whose str holds headers and the body) is not chained


def test_non_json_bodies_are_redacted_and_truncated() -> None:
    body = "<html>" + "x" * 2000 + f" password={PASSWORD} </html>"
    error = translate(api_exception(502, body), OP, "h")
    assert PASSWORD not in str(error)
    assert len(error.message) < 500


def test_redact_patterns() -> None:
    assert TOKEN not in redact(f"Authorization: Bearer {TOKEN}")
    assert "hunter" not in redact('{"password": "hunter2"}')
    assert "abc" not in redact('"data": {"key": "abc"}')
    assert redact("plain message about Model x") == "plain message about Model x"
    assert redact("a b " * 500).endswith("…")
    assert len(redact("word " * 400)) <= 300


def test_connection_errors_become_cluster_unreachable() -> None:
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    error = translate(MaxRetryError(None, "/apis", refused), OP, "https://127.0.0.1:1")  # type: ignore[arg-type]
    assert isinstance(error, ClusterUnreachable)
    assert not error.sent
    assert "cannot reach the API server of context prod-east at https://127.0.0.1:1" in str(error)
    dropped = translate(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")), OP, "h")
    assert isinstance(dropped, ClusterUnreachable)
    assert dropped.sent


def test_tls_failures_point_at_the_certificate_authority() -> None:
    exc = ApiException(
        status=0, reason="SSLError\n[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
    )
    error = translate(exc, OP, "https://h")
    assert isinstance(error, ClusterUnreachable)
    assert error.hint is not None
    assert "certificate-authority" in error.hint
    raw = translate(ssl.SSLCertVerificationError("verify failed"), OP, "https://h")
    assert isinstance(raw, ClusterUnreachable)
    assert "TLS" in str(raw)


def test_every_translated_error_is_a_drkit_adapter_error() -> None:
    for exc in (ApiException(status=500), ValueError("bad json"), RuntimeError("odd"), OSError("net")):
        error = translate(exc, OP, "h")
        assert isinstance(error, KubeError)
        assert isinstance(error, AdapterError)
