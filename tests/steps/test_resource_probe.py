"""The `resource` and `pods` checklist items against a real API server: counts, readiness per kstatus or a
given test, and failure messages naming each object that is not ready."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_support import MODEL_API, Server, model, model_status, running_server
from steps_support import ITEM_BODY_LINE, load_problem, playbook_in, pointed_at

from drkit.steps.base import StepStatus
from drkit.steps.pods_probe import PROBE_KIND as PODS
from drkit.steps.resource_probe import PROBE_KIND as RESOURCE
from drkit.steps.settings import StepConfigError


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path) as started:
        yield started


def _resource(server: Server, body: dict[str, Any]) -> tuple[StepStatus, str]:
    probe = RESOURCE.build("item", body, playbook_in(server.runtime.cwd))
    result = probe.attempt(server.context())
    return result.status, result.message


MODELS = {"apiVersion": MODEL_API, "kind": "Model", "namespace": "ml"}


def test_all_models_ready_needs_the_count_and_every_one_ready(server: Server) -> None:
    for name in ("a", "b"):
        server.create(model(name))
        server.set_status(MODEL_API, "Model", "ml", name, model_status(True))
    assert _resource(server, {**MODELS, "count": 2}) == (StepStatus.SUCCEEDED, "all 2 Model ready")
    status, message = _resource(server, {**MODELS, "count": 3})
    assert status is StepStatus.FAILED
    # Too few: what was found is named, with its readiness, so the missing one can be worked out.
    assert message == (
        "found 2 Model in ml, expected at least 3: Model ml/a: Current: Ready; Model ml/b: Current: Ready"
    )
    server.set_status(MODEL_API, "Model", "ml", "b", model_status(False))
    status, message = _resource(server, MODELS)
    assert status is StepStatus.FAILED
    assert message.startswith("1 of 2 Model not ready: Model ml/b: InProgress: Ready=False (ModelLoading")


def test_named_objects_say_which_are_missing_and_which_not_ready(server: Server) -> None:
    for name, ready in (("baseline", True), ("enhanced", False), ("other", False)):
        server.create(model(name))
        server.set_status(MODEL_API, "Model", "ml", name, model_status(ready))
    body = {**MODELS, "names": ["baseline", "enhanced", "canary"]}
    status, message = _resource(server, body)
    assert status is StepStatus.FAILED
    assert message.startswith(
        "2 of 3 Model missing or not ready: Model ml/canary: not found; "
        "Model ml/enhanced: InProgress: Ready=False (ModelLoading"
    )
    assert "other" not in message  # objects not named are not judged
    assert _resource(server, {**MODELS, "names": ["baseline"]}) == (
        StepStatus.SUCCEEDED,
        "Model ml/baseline ready: Ready",
    )


def test_an_empty_namespace_does_not_pass(server: Server) -> None:
    assert _resource(server, MODELS) == (StepStatus.FAILED, "found 0 Model in ml, expected at least 1")


def test_a_custom_resource_without_status_is_not_ready(server: Server) -> None:
    server.create(model("fresh"))
    status, message = _resource(server, {**MODELS, "name": "fresh"})
    assert status is StepStatus.FAILED
    assert "Model ml/fresh: InProgress" in message


def test_named_object_condition_and_jsonpath(server: Server) -> None:
    server.create(model("m"))
    server.set_status(
        MODEL_API,
        "Model",
        "ml",
        "m",
        {"conditions": [{"type": "Synced", "status": "True"}], "phase": "Serving"},
    )
    assert _resource(server, {**MODELS, "name": "m", "condition": "Synced"})[0] is StepStatus.SUCCEEDED
    assert _resource(server, {**MODELS, "name": "m", "condition": "Ready"})[0] is StepStatus.FAILED
    by_path = {**MODELS, "name": "m", "jsonpath": "$.status.phase", "equals": "Serving"}
    assert _resource(server, by_path)[0] is StepStatus.SUCCEEDED
    status, message = _resource(server, {**by_path, "equals": "Down"})
    assert status is StepStatus.FAILED
    assert ".status.phase is Serving, waiting for Down" in message
    assert _resource(server, {**MODELS, "name": "nope"}) == (StepStatus.FAILED, "Model ml/nope not found")


def test_selector_narrows_the_objects(server: Server) -> None:
    server.create(model("mine", labels={"team": "risk"}))
    server.create(model("theirs", labels={"team": "fraud"}))
    server.set_status(MODEL_API, "Model", "ml", "mine", model_status(True))
    assert _resource(server, {**MODELS, "selector": "team=risk"})[0] is StepStatus.SUCCEEDED
    assert _resource(server, {**MODELS, "selector": {"team": "fraud"}})[0] is StepStatus.FAILED


def _pod(name: str, ready: list[bool], labels: dict[str, str]) -> dict[str, Any]:
    containers = [{"name": f"c{i}", "image": "x:1"} for i in range(len(ready))]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ml", "labels": labels},
        "spec": {"containers": containers},
    }


def _pod_status(ready: list[bool]) -> dict[str, Any]:
    statuses = []
    for i, flag in enumerate(ready):
        state = {"running": {}} if flag else {"waiting": {"reason": "ImagePullBackOff"}}
        statuses.append({"name": f"c{i}", "ready": flag, "state": state})
    return {"phase": "Running" if all(ready) else "Pending", "containerStatuses": statuses}


def _pods(server: Server, body: dict[str, Any]) -> tuple[StepStatus, str]:
    probe = PODS.build("item", body, playbook_in(server.runtime.cwd))
    result = probe.attempt(server.context())
    return result.status, result.message


def test_pods_need_every_container_ready(server: Server) -> None:
    server.create(_pod("mlserver-0", [True, True, True], {"app": "mlserver"}))
    server.set_status("v1", "Pod", "ml", "mlserver-0", _pod_status([True, False, True]))
    body = {"namespace": "ml", "selector": {"app": "mlserver"}}
    status, message = _pods(server, body)
    assert status is StepStatus.FAILED
    assert message == (
        "1 of 1 pod(s) not ready: pod mlserver-0: 2/3 containers ready "
        "(phase Pending; c1: waiting (ImagePullBackOff))"
    )
    server.set_status("v1", "Pod", "ml", "mlserver-0", _pod_status([True, True, True]))
    assert _pods(server, body) == (StepStatus.SUCCEEDED, "1 pod(s) ready, all containers ready (3/3)")
    assert _pods(server, {**body, "count": 2}) == (
        StepStatus.FAILED,
        "found 1 pod(s) in ml with labels app=mlserver, expected at least 2: pod mlserver-0: ready",
    )


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("resource", {**MODELS, "name": "a", "count": 2}, "one named object"),
        ("resource", {**MODELS, "names": ["a"], "count": 2}, "no meaning with `names`"),
        ("resource", {**MODELS, "names": ["a", "a"]}, "twice"),
        ("pods", {"namespace": "ml", "selector": ""}, "needs a `selector`"),
    ],
)
def test_bodies_the_items_cannot_use_are_refused(kind: str, body: dict[str, Any], message: str) -> None:
    probe_kind = RESOURCE if kind == "resource" else PODS
    with pytest.raises(StepConfigError, match=message):
        probe_kind.build("item", body, playbook_in(Path("/tmp")))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("name: a, selector: x=y", "'selector' cannot be combined with 'name'"),
        ("name: a, names: [b]", "'names' cannot be combined with 'name'"),
        ("names: [a], selector: x=y", "'selector' cannot be combined with 'names'"),
        ("condition: A, jsonpath: .x, equals: 1", "'jsonpath' cannot be combined with 'condition'"),
    ],
)
def test_one_way_to_name_objects_and_one_rule_the_loader_says_where(rule: str, message: str) -> None:
    problem = load_problem("resource", f"{{apiVersion: v1, kind: Pod, {rule}}}", item=True)
    assert problem.position.line == ITEM_BODY_LINE
    assert message in problem.message
    assert pointed_at(problem).startswith(message.split("'")[1])


@pytest.mark.parametrize(
    ("rule", "message", "at"),
    [
        (
            "jsonpath: .status.phase",
            "'jsonpath' in 'resource' in item 'i' in checklist 'c' needs 'equals' as well",
            "jsonpath",
        ),
        (
            "equals: Running",
            "'equals' in 'resource' in item 'i' in checklist 'c' needs 'jsonpath' as well",
            "equals",
        ),
    ],
)
def test_jsonpath_and_equals_need_each_other_the_loader_says_where(rule: str, message: str, at: str) -> None:
    problem = load_problem("resource", f"{{apiVersion: v1, kind: Pod, name: db-0, {rule}}}", item=True)
    assert problem.position.line == ITEM_BODY_LINE
    assert message in problem.message
    assert pointed_at(problem).startswith(at)
