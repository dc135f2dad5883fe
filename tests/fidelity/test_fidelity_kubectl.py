"""kubectl against both planes: explain, auth, create (protobuf bodies), printing of core kinds."""

from __future__ import annotations

from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import apps, configmap, containers_of, core
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]


def test_kubectl_explain_a_core_kind(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.kubectl("explain", "configmap.data")

    fidelity(scenario)


def test_kubectl_explain_a_custom_resource(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.kubectl("explain", "widgets.spec")

    fidelity(scenario)


def test_kubectl_auth_can_i(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.kubectl("auth", "can-i", "create", "configmaps", "-n", c.ns)
        c.kubectl("auth", "can-i", "delete", "namespaces")

    fidelity(scenario)


def test_kubectl_auth_whoami(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")

    fidelity(scenario)


def test_kubectl_create_deployment(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.kubectl("create", "deployment", "web", "--image=example.invalid/web:1", "-n", c.ns)
        got = c.get(apps(c, "deployments", "web"), record=False)
        c.note("found", got.status)
        if got.status == 200:
            c.note("containers", containers_of(got.json()))
            managers = got.json()["metadata"].get("managedFields") or []
            c.note("managers", [(m["manager"], m["operation"]) for m in managers])

    fidelity(scenario)


def test_kubectl_get_configmaps(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(core(c, "configmaps"), configmap("shown", labels={"app": "x"}, a="1"), record=False)
        c.kubectl("get", "configmaps", "-n", c.ns, "-l", "app=x")
        c.kubectl("get", "configmap", "shown", "-n", c.ns, "--show-labels")
        c.kubectl("get", "configmap", "missing", "-n", c.ns)

    fidelity(scenario)


def test_kubectl_get_pods_and_services(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        svc = {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}
        created = c.post(core(c, "services"), svc, record=False).json()
        c.note("service status", created.get("status"))
        c.kubectl("get", "services", "-n", c.ns, "-o", "custom-columns=NAME:.metadata.name,TYPE:.spec.type")
        c.kubectl("get", "pods", "-n", c.ns)

    fidelity(scenario)
