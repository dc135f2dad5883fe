"""What API access a step needs, declared by the step kind from its settings, for `drkit rbac`.

A declaration names kinds (apiVersion + kind), not resource plurals: the plural and the scope come from the
cluster's discovery or a table (drkit.engine.rbac), so a step never guesses how a CRD is spelled. `"*"` as
kind means every kind (a step that lists whatever a namespace holds). Discovery itself needs no rule: RBAC
grants it to every authenticated user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from drkit.kube.refs import ObjectRef, ResourceInfo
from drkit.steps.base import StepContext

Verb = Literal["get", "list", "watch", "create", "update", "patch", "delete"]
READ: tuple[Verb, ...] = ("get", "list", "watch")
# Server-side apply is a PATCH; the API server also asks for `create` when the object does not exist yet.
APPLY: tuple[Verb, ...] = (*READ, "create", "patch")
EVERY_KIND = "*"
# The apiVersion of a kind as a playbook names it (`Model`, `models.mlops.seldon.io`): any group's kind that
# answers to the name (ResourceInfo.answers_to), resolved from discovery or the table.
NAMED_KIND = "named"


@dataclass(frozen=True, order=True)
class KindRef:
    """A kind, or one of its subresources (`pods` + `log`), or every kind (`*`)."""

    api_version: str
    kind: str
    subresource: str | None = None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""


@dataclass(frozen=True)
class Access:
    """`verbs` on `target` in `namespace`; namespace None: cluster-wide (a cluster-scoped kind, or every
    namespace). `names` narrows the rule to those objects (RBAC resourceNames); empty: any."""

    target: KindRef
    verbs: tuple[Verb, ...]
    namespace: str | None
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeldRule:
    """An RBAC rule written as the API server spells it, which the drill must hold itself: a Role or a
    binding the manifests apply may grant only permissions its creator has (the API server's escalation
    check), unless the creator may `bind` the role it references."""

    api_group: str
    resource: str
    verbs: tuple[str, ...]
    namespace: str | None  # None: cluster-wide (a ClusterRole's rules)
    names: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class AccessScope:
    """What a declaration needs beyond its settings: the namespace that objects and steps without one act in
    (the kubeconfig context's, or in-cluster the drill's own)."""

    default_namespace: str

    def namespace_of(self, namespace: str | None) -> str:
        return namespace or self.default_namespace


@runtime_checkable
class AccessDeclared(Protocol):
    """A step or checklist item that talks to the API server. `ctx` has no cluster: the declaration comes
    from the settings and local inputs (rendered manifests), never from the live state."""

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess: ...


@dataclass(frozen=True)
class StepAccess:
    """A step's rules, and the kinds its own manifests define (CRDs), so their plurals are known without a
    cluster."""

    rules: tuple[Access, ...] = ()
    defined_kinds: tuple[ResourceInfo, ...] = ()
    # Namespaces the step deletes: a Role inside one would go with it, so their rules must be cluster-wide.
    deleted_namespaces: tuple[str, ...] = ()
    # Steps ("phase/step") whose reads this one repeats (it compares with their snapshot).
    same_as: tuple[str, ...] = ()
    # What the Roles and bindings the step applies grant, so that the API server lets the drill create them.
    held: tuple[HeldRule, ...] = ()

    def __add__(self, other: StepAccess) -> StepAccess:
        return StepAccess(
            self.rules + other.rules,
            self.defined_kinds + other.defined_kinds,
            self.deleted_namespaces + other.deleted_namespaces,
            self.same_as + other.same_as,
            self.held + other.held,
        )


def of_manifests(
    manifests: Sequence[Mapping[str, Any]], verbs: Iterable[Verb], scope: AccessScope
) -> StepAccess:
    """`verbs` on the kind of every manifest in its namespace, and the kinds its CRDs define; when they are
    written (create, patch), also what their Roles and bindings grant (held_rules)."""
    refs = [ObjectRef.of(m) for m in manifests]
    wanted = tuple(verbs)
    writes = "create" in wanted or "patch" in wanted
    return StepAccess(
        tuple(on_objects(refs, wanted, scope)),
        tuple(defined_kinds(manifests)),
        held=tuple(held_rules(manifests, scope)) if writes else (),
    )


RBAC_GROUP = "rbac.authorization.k8s.io"
_ROLES = {"Role": "roles", "ClusterRole": "clusterroles"}


def held_rules(manifests: Sequence[Mapping[str, Any]], scope: AccessScope) -> list[HeldRule]:
    """What creating the manifests' Roles, ClusterRoles and bindings asks of their creator: the rules of each
    role, held as written (the API server refuses a role granting more than its creator holds), and `bind`
    on each role a binding references. Without `bind` the server checks the binding against the role's
    rules as its informer cache has them, which does not know a Role applied a moment before in the same
    wave (NotFound), nor what a role defined elsewhere (`view`) grants."""
    held: list[HeldRule] = []
    for m in manifests:
        ref = ObjectRef.of(m)
        if ref.group != RBAC_GROUP:
            continue
        if ref.kind in _ROLES:
            namespace = scope.namespace_of(ref.namespace) if ref.kind == "Role" else None
            why = f"creating {ref.kind} {ref.name}, which grants it (the API server's escalation check)"
            held += [
                HeldRule(str(group), str(resource), verbs, namespace, names, why)
                for verbs, names, group, resource in _rule_parts(m.get("rules"))
            ]
        role = m.get("roleRef")
        if ref.kind in ("RoleBinding", "ClusterRoleBinding") and isinstance(role, Mapping):
            if role.get("kind") not in _ROLES:
                continue
            namespace = scope.namespace_of(ref.namespace) if ref.kind == "RoleBinding" else None
            why = f"creating {ref.kind} {ref.name}, which binds {role['kind']} {role.get('name')}"
            held.append(
                HeldRule(
                    RBAC_GROUP, _ROLES[str(role["kind"])], ("bind",), namespace, (str(role.get("name")),), why
                )
            )
    return held


def _rule_parts(rules: object) -> list[tuple[tuple[str, ...], tuple[str, ...], str, str]]:
    """(verbs, resourceNames, apiGroup, resource) of each group and resource of RBAC `rules`."""
    parts = []
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, Mapping):
            continue
        verbs = tuple(str(v) for v in rule.get("verbs") or ())
        names = tuple(str(n) for n in rule.get("resourceNames") or ())
        parts += [
            (verbs, names, str(g), str(r))
            for g in rule.get("apiGroups") or ()
            for r in rule.get("resources") or ()
        ]
    return parts


def defined_kinds(manifests: Sequence[Mapping[str, Any]]) -> list[ResourceInfo]:
    """What each CustomResourceDefinition among `manifests` serves, as discovery would say it."""
    kinds: list[ResourceInfo] = []
    for m in manifests:
        if m.get("kind") != "CustomResourceDefinition" or not isinstance(m.get("spec"), Mapping):
            continue
        spec = m["spec"]
        names = spec.get("names") or {}
        versions = [v for v in spec.get("versions") or [] if isinstance(v, Mapping)]
        version = next((str(v.get("name")) for v in versions if v.get("storage")), "")
        if spec.get("group") and names.get("kind") and names.get("plural"):
            kinds.append(
                ResourceInfo(
                    group=str(spec["group"]),
                    version=version,
                    kind=str(names["kind"]),
                    plural=str(names["plural"]),
                    namespaced=spec.get("scope") != "Cluster",
                )
            )
    return kinds


def on(
    api_version: str,
    kind: str,
    verbs: Iterable[Verb],
    namespace: str | None,
    *,
    names: Iterable[str] = (),
    subresource: str | None = None,
) -> Access:
    return Access(KindRef(api_version, kind, subresource), tuple(verbs), namespace, tuple(names))


# Verbs RBAC can narrow to named objects (resourceNames); list, watch and create cannot be.
_NAMEABLE: tuple[Verb, ...] = ("get", "update", "patch", "delete")


def on_named_kind(name: str, verbs: Iterable[Verb], namespace: str | None) -> Access:
    """`verbs` on the kind(s) a playbook names by `name`, in `namespace`."""
    return Access(KindRef(NAMED_KIND, name), tuple(verbs), namespace)


def on_objects(refs: Iterable[ObjectRef], verbs: Iterable[Verb], scope: AccessScope) -> list[Access]:
    """`verbs` on the kind of each object, in its namespace (cluster-scoped kinds: see the resolver, which
    drops the namespace of a kind that has none). Namespaces are named: the rule to delete the platform's
    namespaces must not let the drill delete any other (a cluster-wide rule, as a namespace is)."""
    wanted = tuple(verbs)
    refs = list(refs)
    seen: dict[tuple[KindRef, str], Access] = {}
    for ref in refs:
        if _is_namespace(ref):
            continue
        namespace = scope.namespace_of(ref.namespace)
        target = KindRef(ref.api_version, ref.kind)
        seen.setdefault((target, namespace), Access(target, wanted, namespace))
    rules = list(seen.values())
    names = tuple(sorted({ref.name for ref in refs if _is_namespace(ref)}))
    if names:
        namespaces = KindRef("v1", "Namespace")
        named = tuple(v for v in wanted if v in _NAMEABLE)
        unnamed = tuple(v for v in wanted if v not in _NAMEABLE)
        rules += [Access(namespaces, named, None, names)] if named else []
        rules += [Access(namespaces, unnamed, None)] if unnamed else []
    return rules


def _is_namespace(ref: ObjectRef) -> bool:
    return ref.kind == "Namespace" and ref.api_version == "v1"


def pod_log_access(namespace: str) -> list[Access]:
    """Reading a pod's log: the pods, their log, and the Secrets the pod takes (read first, so their values
    are masked in the log: drkit.kube.pod_secrets)."""
    return [
        on("v1", "Pod", ("get", "list"), namespace),
        on("v1", "Pod", ("get",), namespace, subresource="log"),
        on("v1", "Secret", ("get",), namespace),
    ]


def service_proxy_access(namespace: str) -> Access:
    """A request through the API server's service proxy (POST for inference, GET for readiness). Not narrowed
    by name: RBAC sees the proxied name as `[scheme:]name:port`, a spelling drkit should not pin."""
    return on("v1", "Service", ("get", "create"), namespace, subresource="proxy")
