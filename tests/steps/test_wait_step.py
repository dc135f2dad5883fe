"""The `wait` step against a real API server: readiness times, fail-fast on Failed, timeouts naming each
pending object with its kstatus message, whole kinds, deletion, and custom readiness rules."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_support import (
    MODEL_API,
    Server,
    deployment,
    deployment_failed,
    deployment_ready,
    model,
    model_status,
    running_server,
)
from steps_support import BODY_LINE, load_problem, pointed_at, spec

from drkit.kube import ObjectRef
from drkit.steps.base import StepResult, StepStatus
from drkit.steps.settings import StepConfigError
from drkit.steps.wait import STEP_KIND, parse_settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path) as started:
        yield started


def _run(server: Server, body: dict[str, Any], progress: list[str] | None = None) -> StepResult:
    step = STEP_KIND.build(spec("wait", body))
    return step.run(server.context(progress=progress))


def _objects(result: StepResult) -> dict[str, dict[str, Any]]:
    return {o["object"]: o for o in result.details["objects"]}  # type: ignore[attr-defined]


DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "ml"}


def test_records_when_each_object_became_ready(server: Server) -> None:
    server.create(deployment("api"))
    server.create(deployment("db"))
    server.set_status("apps/v1", "Deployment", "ml", "db", deployment_ready())
    server.later(0.4, lambda: server.set_status("apps/v1", "Deployment", "ml", "api", deployment_ready()))
    progress: list[str] = []
    result = _run(server, {"objects": [{**DEPLOY, "name": "api"}, {**DEPLOY, "name": "db"}]}, progress)
    assert result.status is StepStatus.SUCCEEDED, result.message
    objects = _objects(result)
    assert (
        objects["Deployment ml/db"]["readyAfterSeconds"] < objects["Deployment ml/api"]["readyAfterSeconds"]
    )
    assert objects["Deployment ml/api"]["readyAfterSeconds"] >= 0.4
    assert "2 object(s) ready" in result.message
    assert any(line.startswith("1/2 ready; Deployment ml/api") for line in progress)


def test_a_failed_object_ends_the_wait_with_its_kstatus_message(server: Server) -> None:
    server.create(deployment("api"))
    server.set_status("apps/v1", "Deployment", "ml", "api", deployment_failed())
    result = _run(server, {"objects": [{**DEPLOY, "name": "api"}], "timeout": 30})
    assert result.status is StepStatus.FAILED
    assert "1 of 1 object(s) failed" in result.message
    assert "Deployment ml/api: Failed: progress deadline exceeded (ProgressDeadlineExceeded" in result.message
    assert result.details["waited"] < 30  # settled, did not sit out the timeout


def test_timeout_names_each_pending_object_with_its_status(server: Server) -> None:
    server.create(model("never"))
    server.create(deployment("ok"))
    server.set_status("apps/v1", "Deployment", "ml", "ok", deployment_ready())
    body = {
        "objects": [
            {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml", "name": "never"},
            {**DEPLOY, "name": "ok"},
            {**DEPLOY, "name": "missing"},
        ],
        "timeout": 0.5,
    }
    progress: list[str] = []
    result = _run(server, body, progress)
    assert result.status is StepStatus.FAILED
    # While it waited, it said what for: each object not there yet, with its state.
    head, *rest = progress[-1].splitlines()
    assert head.startswith("1/3 ready; ")  # the kinds are watched in parallel: either may come first
    assert {head.removeprefix("1/3 ready; "), *rest} == {
        "Model ml/never: no status yet: no controller has reconciled it",
        "Deployment ml/missing: not found",
    }
    assert "2 of 3 object(s) not ready after" in result.message
    assert "Model ml/never: InProgress:" in result.message
    assert "Deployment ml/missing: NotFound: not found" in result.message
    assert "Deployment ml/ok" not in result.message
    # What failure collection gathers: the objects still awaited, not the one that got there.
    assert {str(ref) for ref in result.objects} == {"Model ml/never", "Deployment ml/missing"}


def test_waits_for_every_object_of_a_kind(server: Server) -> None:
    for name in ("a", "b"):
        server.create(model(name, labels={"tier": "serving"}))
    server.create(model("other"))  # not selected: never ready, must not matter
    for name in ("a", "b"):
        server.later(0.2, lambda n=name: server.set_status(MODEL_API, "Model", "ml", n, model_status(True)))
    body = {
        "kind": {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml", "selector": {"tier": "serving"}}
    }
    result = _run(server, body)
    assert result.status is StepStatus.SUCCEEDED, result.message
    assert set(_objects(result)) == {"Model ml/a", "Model ml/b"}


def test_a_kind_with_no_objects_fails_rather_than_passing_empty(server: Server) -> None:
    body = {"kind": {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml"}, "timeout": 0.3}
    result = _run(server, body)
    assert result.status is StepStatus.FAILED
    assert "no such object appeared" in result.message


def test_waits_until_deleted_and_not_found_counts_as_gone(server: Server) -> None:
    obj = model("held")
    obj["metadata"]["finalizers"] = ["seldon.model.finalizer"]
    server.create(obj)
    _delete(server, "held")
    rt = server.store.registry.by_kind(MODEL_API, "Model")
    assert rt is not None

    released = threading.Event()

    def release(current: dict[str, Any]) -> dict[str, Any]:
        current["metadata"]["finalizers"] = []
        released.set()
        return current

    server.later(0.3, lambda: server.store.mutate(rt, "ml", "held", release))
    ref = {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml"}
    body = {"objects": [{**ref, "name": "held"}, {**ref, "name": "never-existed"}], "for": "deleted"}
    result = _run(server, body)
    assert result.status is StepStatus.SUCCEEDED, result.message
    assert released.is_set()  # the step waited for the finalizer's release, not less
    objects = _objects(result)
    assert objects["Model ml/held"]["goneAfterSeconds"] > 0
    assert objects["Model ml/never-existed"]["done"] is True


def test_deleted_timeout_says_what_holds_the_object(server: Server) -> None:
    obj = model("held")
    obj["metadata"]["finalizers"] = ["seldon.model.finalizer"]
    server.create(obj)
    _delete(server, "held")
    body = {
        "objects": [{"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml", "name": "held"}],
        "for": "deleted",
        "timeout": 0.3,
    }
    result = _run(server, body)
    assert result.status is StepStatus.FAILED
    assert "still exists" in result.message
    assert "seldon.model.finalizer" in result.message


def test_condition_and_custom_readiness_rules(server: Server) -> None:
    server.create(model("synced"))
    server.set_status(
        MODEL_API,
        "Model",
        "ml",
        "synced",
        {"conditions": [{"type": "Synced", "status": "True"}], "phase": "Serving"},
    )
    ref = [{"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml", "name": "synced"}]
    assert _run(server, {"objects": ref, "timeout": 0.3}).status is StepStatus.FAILED  # no Ready condition
    assert _run(server, {"objects": ref, "for": {"condition": "Synced"}}).status is StepStatus.SUCCEEDED
    by_path = {"objects": ref, "readiness": {"jsonpath": "$.status.phase", "equals": "Serving"}}
    assert _run(server, by_path).status is StepStatus.SUCCEEDED


def _delete(server: Server, name: str) -> None:
    server.cluster.delete(ObjectRef(MODEL_API, "Model", "ml", name))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "objects": [{"apiVersion": "v1", "kind": "Pod", "name": "x"}],
                "for": {"condition": "A"},
                "readiness": {"condition": "B"},
            },
            "not both",
        ),
        (
            {
                "objects": [{"apiVersion": "v1", "kind": "Pod", "name": "x"}],
                "for": "deleted",
                "readiness": {"condition": "B"},
            },
            "no meaning",
        ),
        (
            {
                "objects": [{"apiVersion": "v1", "kind": "Pod", "name": "x"}],
                "readiness": {"jsonpath": "$.status..x", "equals": 1},
            },
            "readiness",
        ),
    ],
)
def test_bodies_the_step_cannot_use_are_refused(body: dict[str, Any], message: str) -> None:
    with pytest.raises(StepConfigError, match=message):
        parse_settings(body)


@pytest.mark.parametrize(
    ("body", "message", "at"),
    [
        (
            "{objects: [], for: ready}",
            "'objects' in 'wait' in step 'wait-1' in phase 'p' needs at least 1 item",
            "[]",
        ),
        (
            "{kind: {apiVersion: v1, kind: Pod}, objects: [{apiVersion: v1, kind: Pod, name: x}]}",
            "'kind' cannot be combined with 'objects'",
            "kind:",
        ),
    ],
)
def test_the_loader_refuses_what_the_schema_says_at_its_position(body: str, message: str, at: str) -> None:
    problem = load_problem("wait", body)
    assert problem.position.line == BODY_LINE
    assert message in problem.message
    assert pointed_at(problem).startswith(at)


def test_plan_says_what_it_waits_for(server: Server) -> None:
    step = STEP_KIND.build(
        spec("wait", {"kind": {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml"}, "timeout": 60})
    )
    assert (
        step.plan(server.context()).summary
        == "would wait until every Model in namespace ml is ready (timeout 60s)"
    )
    assert STEP_KIND.needs_cluster
