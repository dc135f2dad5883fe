"""`drkit rbac`: the rules each step kind's settings need, merged per namespace, and the CLI around them."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import run_drkit_on
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine.rbac import RbacRequest, least_privilege
from drkit.errors import ExitCode, PlaybookError
from drkit.report.rbac import RbacGrant, RbacRule
from drkit_lab.kubeconfig import CONTEXT_NAME

HEAD = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: rbac}
target: {contexts: [lab]}
phases:
  - name: main
    steps:
"""


def _playbook(tmp_path: Path, steps: str, *, files: dict[str, str] | None = None, tail: str = "") -> Path:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    path = tmp_path / "playbook.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(steps).lstrip(), " " * 6) + tail, encoding="utf-8")
    return path


def _grant(runtime: Runtime, path: Path, service_account: tuple[str, str] = ("ops", "drill")) -> RbacGrant:
    return least_privilege(RbacRequest(path, service_account=service_account), runtime)


def _rules(rules: tuple[RbacRule, ...], needed_by: str) -> dict[tuple[str, str, tuple[str, ...]], list[str]]:
    """(apiGroup, resource, names) -> verbs of the rules that name `needed_by` among their steps."""
    return {
        (r.api_group, r.resource, r.names): list(r.verbs)
        for r in rules
        if any(needed_by in who for who in r.needed_by)
    }


PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
KUBECTL = Path(sys.executable).parent / "kubectl"

CONFIGMAP = """\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unplaced}
"""


def test_apply_needs_read_create_and_patch_on_each_kind_in_its_namespace(
    runtime: Runtime, tmp_path: Path
) -> None:
    path = _playbook(
        tmp_path, "- name: up\n  apply: {files: [objects.yaml]}\n", files={"objects.yaml": CONFIGMAP}
    )
    grant = _grant(runtime, path)
    verbs = ["get", "list", "watch", "create", "patch"]
    assert _rules(grant.namespaced["app"], "main/up") == {("", "configmaps", ()): verbs}
    # An object without a namespace lands where the drill runs: the ServiceAccount's namespace.
    assert _rules(grant.namespaced["ops"], "main/up") == {("", "configmaps", ()): verbs}
    assert not grant.cluster


def test_delete_adds_delete_and_the_rules_of_a_deleted_namespace_become_cluster_wide(
    runtime: Runtime, tmp_path: Path
) -> None:
    objects = """\
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: gone}
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: gadgets.example.io}
    spec:
      group: example.io
      scope: Namespaced
      names: {kind: Gadget, plural: gadgets}
      versions: [{name: v1, served: true, storage: true}]
    ---
    apiVersion: example.io/v1
    kind: Gadget
    metadata: {name: g, namespace: gone}
    """
    path = _playbook(
        tmp_path, "- name: down\n  delete: {files: [objects.yaml]}\n", files={"objects.yaml": objects}
    )
    grant = _grant(runtime, path)
    deletes = _rules(grant.cluster, "main/down")
    # Namespaces are cluster-wide, so what can be narrowed to the one deleted is: never any other.
    assert deletes[("", "namespaces", ())] == ["list", "watch"]
    assert deletes[("", "namespaces", ("gone",))] == ["get", "delete"]
    # The plural is the CRD's own; the Gadget in `gone` is ruled cluster-wide, as a Role in `gone` would
    # be deleted with it; the CRD itself is never deleted by a delete step.
    assert deletes[("example.io", "gadgets", ())] == ["get", "list", "watch", "delete"]
    assert ("apiextensions.k8s.io", "customresourcedefinitions", ()) not in deletes
    assert "gone" not in grant.namespaced
    assert any("deletes namespace(s) gone" in note for note in grant.notes)


def test_steps_needing_one_resource_share_one_rule_that_names_them_all(
    runtime: Runtime, tmp_path: Path
) -> None:
    steps = "- name: down\n  delete: {files: [objects.yaml]}\n- name: up\n  apply: {files: [objects.yaml]}\n"
    grant = _grant(runtime, _playbook(tmp_path, steps, files={"objects.yaml": CONFIGMAP}))
    rules = [r for r in grant.namespaced["app"] if r.resource == "configmaps"]
    assert len(rules) == 1
    assert rules[0].verbs == ("get", "list", "watch", "create", "patch", "delete")
    assert rules[0].needed_by == ("main/down (delete)", "main/up (apply)")


def test_wait_and_checklist_items_only_read(runtime: Runtime, tmp_path: Path) -> None:
    steps = """\
    - name: ready
      wait:
        objects: [{apiVersion: apps/v1, kind: Deployment, namespace: app, name: web}]
    - name: health
      check: health
    """
    tail = """\
checklists:
  health:
    items:
      - name: pods
        pods: {namespace: app, selector: {app: web}}
      - name: everywhere
        resource: {apiVersion: batch/v1, kind: Job, count: 1}
      - name: logs
        podLogs: {namespace: app, selector: {app: web}, container: web, contains: [started]}
"""
    grant = _grant(runtime, _playbook(tmp_path, steps, tail=tail))
    assert _rules(grant.namespaced["app"], "main/ready") == {
        ("apps", "deployments", ()): ["get", "list", "watch"]
    }
    checks = _rules(grant.namespaced["app"], "main/health")
    assert checks[("", "pods", ())] == ["get", "list", "watch"]
    assert checks[("", "pods/log", ())] == ["get"]
    assert checks[("", "secrets", ())] == ["get"]  # a pod's Secrets are read to mask them in its log
    # No namespace on a resource item: it lists every namespace, which only a ClusterRole allows.
    assert _rules(grant.cluster, "main/health") == {("batch", "jobs", ()): ["get", "list", "watch"]}


@pytest.mark.parametrize(
    ("extra", "workflow_verbs", "template"),
    [
        ("", ["get", "list", "watch", "create"], ("argoproj.io", "workflowtemplates", ())),
        (
            "onTimeout: stop",
            ["get", "list", "watch", "create", "patch"],
            ("argoproj.io", "workflowtemplates", ()),
        ),
    ],
)
def test_pipeline_submits_and_watches_workflows_and_reads_its_template(
    runtime: Runtime,
    tmp_path: Path,
    extra: str,
    workflow_verbs: list[str],
    template: tuple[str, str, tuple[str, ...]],
) -> None:
    body = f"{{workflowTemplate: train, namespace: ml{', ' + extra if extra else ''}}}"
    grant = _grant(runtime, _playbook(tmp_path, f"- name: train\n  pipeline: {body}\n"))
    rules = _rules(grant.namespaced["ml"], "main/train")
    assert rules == {("argoproj.io", "workflows", ()): workflow_verbs, template: ["get", "list"]}


def test_a_cluster_workflow_template_is_read_cluster_wide(runtime: Runtime, tmp_path: Path) -> None:
    body = "{workflowTemplate: train, namespace: ml, clusterScope: true}"
    grant = _grant(runtime, _playbook(tmp_path, f"- name: train\n  pipeline: {body}\n"))
    assert _rules(grant.cluster, "main/train") == {
        ("argoproj.io", "clusterworkflowtemplates", ()): ["get", "list"]
    }


@pytest.mark.parametrize("force", [False, True])
def test_clear_finalizers_patches_any_kind_in_its_namespaces_and_finalizes_only_with_force(
    runtime: Runtime, tmp_path: Path, force: bool
) -> None:
    body = f"{{namespaces: [stuck], force: {str(force).lower()}}}"
    grant = _grant(runtime, _playbook(tmp_path, f"- name: unstick\n  clearFinalizers: {body}\n"))
    assert _rules(grant.namespaced["stuck"], "main/unstick") == {("*", "*", ()): ["get", "list", "patch"]}
    finalize = ("", "namespaces/finalize", ("stuck",))
    assert (finalize in _rules(grant.cluster, "main/unstick")) is force


def test_clear_finalizers_of_named_kinds_is_granted_on_those_kinds_only(
    runtime: Runtime, tmp_path: Path
) -> None:
    # As a playbook names kinds: by kind, by plural with its group (the Seldon CRDs are in the table).
    body = "{namespaces: [stuck], kinds: [Model, experiments.mlops.seldon.io]}"
    grant = _grant(runtime, _playbook(tmp_path, f"- name: unstick\n  clearFinalizers: {body}\n"))
    assert _rules(grant.namespaced["stuck"], "main/unstick") == {
        ("mlops.seldon.io", "experiments", ()): ["get", "list", "patch"],
        ("mlops.seldon.io", "models", ()): ["get", "list", "patch"],
    }


def test_the_drill_lease_is_held_in_kube_system_by_name(runtime: Runtime, tmp_path: Path) -> None:
    grant = _grant(
        runtime,
        _playbook(
            tmp_path, "- name: up\n  apply: {files: [objects.yaml]}\n", files={"objects.yaml": CONFIGMAP}
        ),
    )
    lease = _rules(grant.namespaced["kube-system"], "drill lease")
    assert lease == {
        ("coordination.k8s.io", "leases", ()): ["create"],  # create cannot be narrowed by name
        ("coordination.k8s.io", "leases", ("drkit-drill",)): ["get", "update", "delete"],
    }


def test_a_kind_neither_built_in_nor_defined_by_a_crd_is_a_problem_at_its_step(
    runtime: Runtime, tmp_path: Path
) -> None:
    gadget = "{apiVersion: example.io/v1, kind: Gadget, namespace: a, name: g}"
    steps = f"- name: ready\n  wait:\n    objects: [{gadget}]\n"
    with pytest.raises(PlaybookError) as caught:
        _grant(runtime, _playbook(tmp_path, steps))
    problem = caught.value.problems[0]
    assert (problem.position.line, problem.position.column) == (8, 15)
    assert "cannot tell the resource of kind Gadget (example.io/v1)" in problem.message


def test_cli_prints_yaml_with_a_comment_per_rule_and_json_as_a_list(runtime: Runtime, tmp_path: Path) -> None:
    path = _playbook(
        tmp_path, "- name: up\n  apply: {files: [objects.yaml]}\n", files={"objects.yaml": CONFIGMAP}
    )
    code, text = run_drkit_on(runtime, "rbac", str(path), "--service-account", "ops/drill")
    assert code == ExitCode.OK
    assert f"#   drkit rbac {path} --service-account ops/drill" in text
    assert '  # main/up (apply)\n  - apiGroups: [""]\n    resources: ["configmaps"]' in text
    code, out = run_drkit_on(runtime, "rbac", str(path), "--service-account", "ops/drill", "-o", "json")
    document: dict[str, Any] = json.loads(out)
    assert code == ExitCode.OK
    assert document["kind"] == "List"
    bindings = [i for i in document["items"] if i["kind"] == "RoleBinding"]
    assert {b["metadata"]["namespace"] for b in bindings} == {"app", "ops", "kube-system"}
    assert all(
        b["subjects"] == [{"kind": "ServiceAccount", "name": "drill", "namespace": "ops"}] for b in bindings
    )


def test_cli_refuses_a_broken_playbook_and_a_malformed_service_account(
    runtime: Runtime, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(HEAD + "      - name: x\n        apply: {kustomize: 3}\n", encoding="utf-8")
    code, out = run_drkit_on(runtime, "rbac", str(broken))
    assert code == ExitCode.USAGE
    assert out == ""
    assert f"{broken}:8:" in runtime.stderr.getvalue()  # type: ignore[attr-defined]
    code, _ = run_drkit_on(runtime, "rbac", str(broken), "--service-account", "just-a-name")
    assert code == ExitCode.USAGE
    assert "--service-account must be NAMESPACE/NAME" in runtime.stderr.getvalue()  # type: ignore[attr-defined]


@pytest.mark.skipif(shutil.which("kubectl") is None and not KUBECTL.exists(), reason="needs kubectl")
@pytest.mark.parametrize("shipped", sorted(p.name for p in PLAYBOOKS.glob("*.yaml")))
def test_every_shipped_playbook_gets_its_rules(runtime: Runtime, shipped: str) -> None:
    """Between them they use every step and item kind: one that talks to the API server without declaring
    its access would fail here (an internal error), as would a kind the table cannot name."""
    grant = least_privilege(RbacRequest(PLAYBOOKS / shipped), runtime)
    assert ("coordination.k8s.io", "leases", ("drkit-drill",)) in {
        (r.api_group, r.resource, r.names) for r in grant.namespaced["kube-system"]
    }


def test_a_relative_kubeconfig_is_read_from_the_runtimes_directory_for_discovery(
    lab: Lab, tmp_path: Path, runtime: Runtime
) -> None:
    # The command runs in tmp_path, not where the process started: `--kubeconfig kc` means tmp_path/kc.
    shutil.copy(lab.kubeconfig, tmp_path / "kc")
    path = _playbook(
        tmp_path, "- name: up\n  apply: {files: [objects.yaml]}\n", files={"objects.yaml": CONFIGMAP}
    )
    request = RbacRequest(path, kubeconfig="kc", context=CONTEXT_NAME)
    grant = least_privilege(request, replace(runtime, cwd=tmp_path))
    assert grant.kinds_from.startswith(f"the discovery of context {CONTEXT_NAME!r}")
