"""`drkit rbac`: the least-privilege rules a ServiceAccount needs to run a playbook's drill.

Each step kind declares what it needs from its settings and its rendered manifests (drkit.steps.access);
this module adds what the engine itself does (the drill lease, failure collection), turns kinds into
resource plurals, and merges everything into one Role per namespace and one ClusterRole for the rest. The
playbook is loaded, built and its inputs read exactly as a drill would, so a broken one fails the same way
(file:line:col, exit 2) before anything is printed.

Plurals come from the cluster's discovery when a context is named; otherwise from a built-in table of core
kinds and the CRDs among the manifests. A kind neither knows is a problem at the step's position, never a
guess. A namespace a step deletes cannot hold the Role that lets the drill rebuild it (the Role goes with
the namespace), so its rules go to the ClusterRole, and the output says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from drkit.context import Runtime
from drkit.engine import drill_lease
from drkit.engine.build import BuiltStep, check_inputs, config_problem
from drkit.engine.build import build_steps as build_all
from drkit.engine.builtin_kinds import BUILTIN_KINDS
from drkit.engine.finally_steps import finally_selection
from drkit.engine.request import RunMode
from drkit.engine.usecases import load
from drkit.errors import InternalError
from drkit.kube.client import Cluster, ClusterConfig, open_cluster
from drkit.kube.config import context_namespace, current_context
from drkit.kube.errors import UnknownKind
from drkit.kube.refs import ResourceInfo
from drkit.report.rbac import VERB_ORDER, RbacGrant, RbacRule
from drkit.steps.access import (
    EVERY_KIND,
    NAMED_KIND,
    Access,
    AccessDeclared,
    AccessScope,
    HeldRule,
    StepAccess,
    on,
    pod_log_access,
)
from drkit.steps.base import StepContext
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS
from drkit.steps.settings import StepConfigError

LEASE_NEED = "the drill lease (one drill per cluster)"
COLLECT_NEED = "failure collection (events, pods and their logs of a failed step)"


@dataclass(frozen=True)
class RbacRequest:
    playbook_path: Path
    overrides: Mapping[str, str] = field(default_factory=dict)
    service_account: tuple[str, str] = ("drkit", "drkit")  # (namespace, name)
    kubeconfig: str | None = None
    context: str | None = None  # given: plurals from this cluster's discovery


@dataclass(frozen=True)
class _Need:
    """One declared access and who needs it."""

    access: Access
    needed_by: str


# The resources an access names: one for a kind given with its apiVersion (none when unknown), every kind
# answering to the name for a kind as a playbook names it (NAMED_KIND).
Resolve = Callable[[Access], list[ResourceInfo]]


def least_privilege(request: RbacRequest, runtime: Runtime) -> RbacGrant:
    playbook = load(request.playbook_path, request.overrides, runtime)
    final = finally_selection(playbook, RunMode.DRILL)
    phases = (*playbook.phases, *([final.phase] if final else []))
    steps = [b for built in build_all(playbook, phases, STEP_KINDS, PROBE_KINDS).values() for b in built]
    ctx = StepContext(
        runtime=runtime, playbook=playbook, run_id="rbac", run_dir=runtime.cwd, deadline=None, progress=_quiet
    )
    check_inputs(steps, ctx)  # a broken manifest is a playbook problem (exit 2) before anything is printed
    config = None
    if request.context is not None:
        config = ClusterConfig.from_env(
            runtime.env, kubeconfig=request.kubeconfig, context=request.context, cwd=runtime.cwd
        )
    scope = AccessScope(context_namespace(config) if config else request.service_account[0])
    declared = {id(b): _declared(b, ctx, scope) for b in steps}
    defined = [k for access in declared.values() for k in access.defined_kinds]
    by_path = {f"{b.phase.name}/{b.spec.name}": declared[id(b)] for b in steps}
    needs: list[tuple[BuiltStep | None, _Need]] = []
    for b in steps:
        label = f"{b.phase.name}/{b.spec.name} ({b.spec.kind})"
        own = declared[id(b)]
        rules = [*own.rules, *(a for path in own.same_as if path in by_path for a in by_path[path].rules)]
        needs += [(b, _Need(a, label)) for a in rules]
    held = [rule for b in steps for rule in declared[id(b)].held]
    deleted = sorted({n for access in declared.values() for n in access.deleted_namespaces})
    if config is None:
        kinds_from = "a built-in table of core kinds and the CRDs in the manifests (no --context)"
        return _grant(request, needs, held, _table(defined), deleted, kinds_from, _quiet_steps(steps))
    kinds_from = f"the discovery of context {current_context(config)!r}, then the CRDs in the manifests"
    cluster = open_cluster(runtime, kubeconfig=request.kubeconfig, context=request.context)
    try:
        resolve = _discovered(cluster, _table(defined))
        return _grant(request, needs, held, resolve, deleted, kinds_from, _quiet_steps(steps))
    finally:
        cluster.close()


def _quiet(_: str) -> None:
    """Deriving rules shows no progress."""


def _declared(built: BuiltStep, ctx: StepContext, scope: AccessScope) -> StepAccess:
    if isinstance(built.step, AccessDeclared):
        try:
            return built.step.access(replace(ctx, phase=built.phase.name), scope)
        except StepConfigError as exc:
            raise config_problem(built.spec, exc) from None
    if built.needs_cluster:  # a step that talks to the API server must say what it needs
        raise InternalError(f"step kind {built.spec.kind!r} uses the cluster but declares no access")
    return StepAccess()


def _quiet_steps(steps: Iterable[BuiltStep]) -> list[str]:
    """Steps that ask nothing of the API server through drkit (a command's own kubectl brings its own
    credentials, which these rules do not cover)."""
    kinds = sorted({b.spec.kind for b in steps if not isinstance(b.step, AccessDeclared)})
    return (
        [f"{', '.join(kinds)} steps need no rule here: they do not reach the API through drkit"]
        if kinds
        else []
    )


def _table(defined: Iterable[ResourceInfo]) -> Resolve:
    known = {**BUILTIN_KINDS, **{(k.group, k.kind): k for k in defined}}

    def resolve(access: Access) -> list[ResourceInfo]:
        target = access.target
        if target.api_version == NAMED_KIND:
            return [info for info in known.values() if info.answers_to(target.kind)]
        found = known.get((target.group, target.kind))
        return [found] if found is not None else []

    return resolve


def _discovered(cluster: Cluster, fallback: Resolve) -> Resolve:
    """The cluster's discovery first; a kind it does not serve yet (its CRD is applied by the drill) from the
    manifests. Discovery is readable by every authenticated user: no rule is needed for it."""

    def resolve(access: Access) -> list[ResourceInfo]:
        target = access.target
        if target.api_version == NAMED_KIND:
            served = cluster.served_resources().resources
            return [i for i in served if i.answers_to(target.kind)] or fallback(access)
        try:
            return [cluster.resource_for(target.api_version, target.kind)]
        except UnknownKind:
            return fallback(access)

    return resolve


def _engine_needs(namespaces: Iterable[str]) -> list[_Need]:
    """What a drill does besides its steps: it holds the Lease (create cannot be narrowed by name), and a
    failed step's events, pods and logs are collected (a pod's Secrets are read to mask them in its log)."""
    ref = drill_lease.REF
    needs = [
        _Need(on(ref.api_version, ref.kind, ("create",), ref.namespace), LEASE_NEED),
        _Need(
            on(ref.api_version, ref.kind, ("get", "update", "delete"), ref.namespace, names=(ref.name,)),
            LEASE_NEED,
        ),
    ]
    for namespace in namespaces:
        collect = [on("v1", "Event", ("list",), namespace), on("apps/v1", "ReplicaSet", ("list",), namespace)]
        needs += [_Need(a, COLLECT_NEED) for a in (*collect, *pod_log_access(namespace))]
    return needs


# (namespace, None: cluster-wide; apiGroup; resource[/subresource]; resourceNames)
_Key = tuple[str | None, str, str, tuple[str, ...]]


def _grant(  # noqa: PLR0917
    request: RbacRequest,
    needs: list[tuple[BuiltStep | None, _Need]],
    held: list[HeldRule],
    resolve: Resolve,
    deleted: list[str],
    kinds_from: str,
    notes: list[str],
) -> RbacGrant:
    placed: list[tuple[_Key, tuple[str, ...], str]]
    placed = [(key, n.access.verbs, n.needed_by) for b, n in needs for key in _keys(n.access, resolve, b)]
    acting = sorted({key[0] for key, _, _ in placed if key[0]})  # where the steps act on namespaced objects
    placed += [
        (key, n.access.verbs, n.needed_by)
        for n in _engine_needs(acting)
        for key in _keys(n.access, resolve, None)
    ]
    placed += [((r.namespace, r.api_group, r.resource, r.names), r.verbs, r.why) for r in held]
    merged: dict[_Key, tuple[set[str], list[str]]] = {}
    for (namespace, group, resource, names), wanted, needed_by in placed:
        key = (None if namespace in deleted else namespace, group, resource, names)
        verbs, who = merged.setdefault(key, (set(), []))
        verbs.update(wanted)
        who += [needed_by] if needed_by not in who else []
    _fold_named_into_any(merged)
    namespaced: dict[str, list[RbacRule]] = {}
    cluster: list[RbacRule] = []
    for (namespace, group, resource, names), (verbs, who) in sorted(merged.items(), key=_order):
        rule = RbacRule(group, resource, _in_order(verbs), names, tuple(who))
        (namespaced.setdefault(namespace, []) if namespace else cluster).append(rule)
    if deleted:
        notes = [
            *notes,
            f"the drill deletes namespace(s) {', '.join(deleted)}: a Role there would be deleted with them, "
            "so their rules are in the ClusterRole",
        ]
    return RbacGrant(
        service_account=request.service_account,
        namespaced={n: tuple(rules) for n, rules in namespaced.items()},
        cluster=tuple(cluster),
        kinds_from=kinds_from,
        notes=tuple(notes),
    )


def _in_order(verbs: set[str]) -> tuple[str, ...]:
    """The usual verbs in their usual order, then the rest (`bind`, `escalate`, `*`) a held Role grants."""
    return (*(v for v in VERB_ORDER if v in verbs), *sorted(verbs - set(VERB_ORDER)))


def _fold_named_into_any(merged: dict[_Key, tuple[set[str], list[str]]]) -> None:
    """A rule narrowed to some names adds nothing when a rule on any name already has its verbs."""
    for key in [k for k in merged if k[3]]:
        wider = merged.get((*key[:3], ()))
        verbs, who = merged[key]
        if wider is not None and verbs <= wider[0]:
            wider[1].extend(w for w in who if w not in wider[1])
            del merged[key]


def _order(item: tuple[_Key, object]) -> tuple[str, str, str, tuple[str, ...]]:
    namespace, group, resource, names = item[0]
    return (namespace or "", group, resource, names)


def _keys(access: Access, resolve: Resolve, built: BuiltStep | None) -> list[_Key]:
    return [
        (access.namespace if namespaced else None, group, resource, access.names)
        for group, resource, namespaced in _resources(access, resolve, built)
    ]


def _resources(access: Access, resolve: Resolve, built: BuiltStep | None) -> list[tuple[str, str, bool]]:
    """(apiGroup, resource[/subresource], namespaced) of what `access` names."""
    target = access.target
    if target.kind == EVERY_KIND:
        return [("*", "*", True)]
    found = resolve(access)
    if not found:
        written = "as named" if target.api_version == NAMED_KIND else f"({target.api_version})"
        problem = StepConfigError(
            f"cannot tell the resource of kind {target.kind} {written}: not a core kind, and "
            "no CRD among the manifests defines it",
            hint="pass --context to read it from a cluster that serves it",
        )
        if built is None:
            raise InternalError(problem.message)
        raise config_problem(built.spec, problem)
    return [
        (
            info.group,
            f"{info.plural}/{target.subresource}" if target.subresource else info.plural,
            info.namespaced,
        )
        for info in found
    ]
