"""The starter playbook `drkit init` writes: valid as written, read-only until its owner fills it in.

What drkit knows about a new user's platform is a kubeconfig context and the namespaces it lives in. So the
starter's one active phase checks that those namespaces exist and are Active (a real `drkit check` against
the cluster passes or names the missing one), and the phases a recovery needs next (teardown, rebuild) are
written out for those namespaces but commented, because they need the platform's manifests, which only its
owner can point at. Values the user typed reach the YAML as JSON strings (a subset of YAML), so a context
such as `arn:aws:eks:...:cluster/prod` or one with `#` or quotes stays one exact scalar.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from drkit.errors import UsageError
from drkit.playbook.language import DNS_LABEL

SCHEMA_FILE = "playbook.schema.json"  # written beside the playbook; its `$schema` comment names it
_DNS_LABEL = re.compile(rf"^{DNS_LABEL}$")
_MAX_LABEL = 63


@dataclass(frozen=True)
class StarterSpec:
    name: str  # metadata.name, a DNS label
    context: str
    namespaces: tuple[str, ...]


def starter_spec(
    *, file_stem: str, context: str, namespaces: tuple[str, ...], name: str | None
) -> StarterSpec:
    """Check what the user gave (UsageError naming the bad value) and derive the playbook's name."""
    if not context.strip():
        raise UsageError("--context must name a kubeconfig context", hint="see `kubectl config get-contexts`")
    if not namespaces:
        raise UsageError("give at least one --namespace: the namespaces the platform lives in")
    for namespace in namespaces:
        if not _is_label(namespace):
            raise UsageError(
                f"--namespace {namespace!r} is not a Kubernetes namespace name",
                hint="lower-case letters, digits and '-', at most 63, starting and ending alphanumeric",
            )
    if name is not None and not _is_label(name):
        raise UsageError(
            f"--name {name!r} is not a valid playbook name",
            hint="lower-case letters, digits and '-' (a DNS-1123 label)",
        )
    return StarterSpec(
        name=name or _name_from(file_stem),
        context=context,
        namespaces=tuple(dict.fromkeys(namespaces)),
    )


def _is_label(value: str) -> bool:
    return len(value) <= _MAX_LABEL and _DNS_LABEL.match(value) is not None


def _name_from(stem: str) -> str:
    """`Prod_East.recovery` -> `prod-east-recovery`; `recovery` when nothing usable is left."""
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower())[:_MAX_LABEL].strip("-")
    return name or "recovery"


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _variable_safe(value: str) -> str:
    """`${` below `target` would be read as a variable reference; `$${` is the literal."""
    return value.replace("${", "$${")


def render_starter(spec: StarterSpec, *, file_name: str) -> str:
    """The starter playbook's text (see the module docstring)."""
    namespaces = ", ".join(spec.namespaces)
    flow_namespaces = "[" + ", ".join(spec.namespaces) + "]"
    items = "".join(
        f"      - name: {ns}-namespace\n"
        f"        resource: {{apiVersion: v1, kind: Namespace, name: {ns}}}\n"
        f"      # Every Deployment in {ns} available (and at least one there):\n"
        f"      # - name: {ns}-deployments\n"
        f"      #   resource: {{apiVersion: apps/v1, kind: Deployment, namespace: {ns}}}\n"
        for ns in spec.namespaces
    )
    description = _quoted(f"Recover {namespaces} on the cluster context {spec.context}.")
    return f"""\
# A recovery playbook for the cluster context {_comment(spec.context)}, started by `drkit init`.
# As written it only reads: it checks that the namespaces {namespaces} exist and are Active.
#   drkit validate {file_name}    check the playbook itself, without touching a cluster
#   drkit plan {file_name}        every step a drill would take, changing nothing
#   drkit check {file_name}       run its checklists (read-only) against the cluster
# Next: point `manifests` at the platform's kustomize base and uncomment the teardown and rebuild phases,
# then add what your recovery needs (pipelines, model URIs, inference checks): `drkit examples list` shows
# complete playbooks. {SCHEMA_FILE}, beside this file, lets an editor complete and check every field.
#
# yaml-language-server: $schema={SCHEMA_FILE}
apiVersion: drkit.io/v1
kind: Playbook
metadata:
  name: {spec.name}
  description: {description}
target:
  contexts: [{_quoted(_variable_safe(spec.context))}]  # drkit refuses to act on any other context
  # protectedNamespaces: [mlflow]  # never deleted, like kube-system, kube-public, kube-node-lease, default
vars:
  manifests: manifests  # the platform's kustomize base, relative to this file
rto: 30m
phases:
  # - name: teardown  # drills only (`drkit drill`): delete the platform, unstick what its finalizers hold
  #   drillOnly: true
  #   budget: 5m
  #   steps:
  #     - delete: {{kustomize: "${{manifests}}", wait: false}}
  #     - clearFinalizers: {{namespaces: {flow_namespaces}, after: 30s}}
  # - name: rebuild
  #   budget: 10m
  #   steps:
  #     - apply: {{kustomize: "${{manifests}}"}}
  - name: validate
    budget: 5m
    steps:
      - check: health
checklists:
  health:
    timeout: 2m
    items:
{items}"""


def _comment(value: str) -> str:
    """A value on a comment line: one line, whatever the user typed."""
    return " ".join(value.split())
