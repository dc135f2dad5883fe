"""Lists: pagination (raw and `kubectl get --chunk-size`), bad continue tokens, label and field selectors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import configmap, core, pod, secret
from fidelity_planes import Client

Fidelity = Callable[[Scenario], None]


def _secrets(c: Client, count: int) -> None:
    for i in range(count):
        c.post(core(c, "secrets"), secret(f"s{i}", k=str(i)), record=False)


def test_pagination_follows_continue_to_the_end(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _secrets(c, 5)
        params = {"limit": "2"}
        for _ in range(4):
            page = c.get(core(c, "secrets"), params=params).json()
            token = page["metadata"].get("continue")
            if not token:
                break
            params = {"limit": "2", "continue": token}

    fidelity(scenario)


def test_kubectl_get_chunk_size(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _secrets(c, 3)
        c.kubectl("get", "secrets", "-n", c.ns, "--chunk-size=1", "-o", "name")
        c.kubectl("get", "secrets", "-n", c.ns, "--chunk-size=2")

    fidelity(scenario)


def test_malformed_continue_token(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "secrets"), params={"limit": "1", "continue": "not-a-token"})

    fidelity(scenario)


def test_continue_token_from_another_list_position(fidelity: Fidelity) -> None:
    """A well-formed token whose key is outside the listed prefix is refused."""

    def scenario(c: Client) -> None:
        _secrets(c, 2)
        first = c.get(core(c, "secrets"), params={"limit": "1"}, record=False).json()
        token = first["metadata"].get("continue", "")
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        decoded["start"] = "../../../../registry/other"
        forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode().rstrip("=")
        c.get(core(c, "secrets"), params={"limit": "1", "continue": forged})

    fidelity(scenario)


def test_expired_continue_token(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        _secrets(c, 3)
        first = c.get(core(c, "secrets"), params={"limit": "1"}).json()
        c.post(core(c, "secrets"), secret("later", k="x"), record=False)
        c.compact()
        c.get(core(c, "secrets"), params={"limit": "1", "continue": first["metadata"].get("continue", "")})

    fidelity(scenario)


def test_label_selectors(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        for name, tier in (("a", "web"), ("b", "db"), ("c", "cache")):
            c.post(core(c, "configmaps"), configmap(name, labels={"tier": tier, "sel": "yes"}), record=False)
        for selector in (
            "tier=web",
            "tier!=web,sel",
            "tier in (db,cache)",
            "tier notin (db),sel",
            "!missing,sel",
        ):
            reply = c.get(core(c, "configmaps"), params={"labelSelector": selector}, record=False)
            c.note(selector, [reply.status, sorted(i["metadata"]["name"] for i in reply.json()["items"])])

    fidelity(scenario)


def test_invalid_label_selector(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "configmaps"), params={"labelSelector": "tier in (a"})
        c.get(core(c, "configmaps"), params={"labelSelector": "bad key=1"})

    fidelity(scenario)


def test_field_selectors(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.wait_default_service_account()
        c.post(core(c, "configmaps"), configmap("one", sel="yes"), record=False)
        # Bound to a node no kubelet serves, so it stays Pending on both planes whatever the lab's kubelet
        # does meanwhile (an unbound pod would race with it on the emulated plane).
        elsewhere = pod("p")
        elsewhere["spec"]["nodeName"] = "elsewhere"
        c.post(core(c, "pods"), elsewhere, record=False)
        for path, selector in (
            (core(c, "configmaps"), "metadata.name=one"),
            (core(c, "configmaps"), f"metadata.namespace={c.ns},metadata.name!=kube-root-ca.crt"),
            (core(c, "pods"), "status.phase=Pending"),
            (core(c, "pods"), "spec.nodeName=elsewhere"),
            (core(c, "pods"), "spec.nodeName="),
        ):
            reply = c.get(path, params={"fieldSelector": selector}, record=False)
            c.note(selector, [reply.status, sorted(i["metadata"]["name"] for i in reply.json()["items"])])

    fidelity(scenario)


def test_unsupported_field_selector(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "configmaps"), params={"fieldSelector": "data.k=v"})
        c.get(core(c, "configmaps"), params={"fieldSelector": "metadata.name"})

    fidelity(scenario)


def test_empty_list_shape(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.get(core(c, "secrets"))
        c.get(f"/apis/apps/v1/namespaces/{c.ns}/deployments", params={"limit": "10"})

    fidelity(scenario)
