"""`drkit diff`: the reproduction diff between two clusters (two kubeconfig contexts), after a migration.

There is no playbook, so no `target.contexts` allow-list: the person at the keyboard names both contexts.
It only reads (one list per kind and namespace on each side). The kinds are those given, or every
namespaced kind the `from` cluster lists, generated ones excepted; the `to` cluster is read for the same
kinds. Secret values are digested under a salt made for this comparison and kept nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from drkit.context import Runtime
from drkit.errors import UsageError
from drkit.kube import open_cluster
from drkit.report.reproduction import DiffReport
from drkit.reproduction.collect import collect_inventory, default_kinds, new_salt, resolve_kinds
from drkit.reproduction.diff import PathError, Rule, diff_inventories, rule_of


@dataclass(frozen=True)
class DiffRequest:
    from_context: str
    to_context: str
    namespaces: tuple[str, ...]
    kubeconfig: str | None = None
    to_kubeconfig: str | None = None  # default: the same kubeconfig
    kinds: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ("missing", "extra", "changed")


def parse_ignore(paths: tuple[str, ...]) -> tuple[Rule, ...]:
    try:
        return tuple(rule_of(p) for p in paths)
    except PathError as exc:
        raise UsageError(
            f"--ignore: {exc}", hint='paths look like spec.storageUri or metadata.labels["a/b"]'
        ) from None


def compare_clusters(request: DiffRequest, runtime: Runtime) -> DiffReport:
    if not request.namespaces:
        raise UsageError("name at least one namespace (-n NS)")
    ignore = parse_ignore(request.ignore)
    salt = new_salt()
    with open_cluster(runtime, kubeconfig=request.kubeconfig, context=request.from_context) as source:
        if request.kinds:
            kinds, unreadable = resolve_kinds(source, request.kinds), dict[tuple[str, str], str]()
        else:
            kinds, unreadable = default_kinds(source)
        before = collect_inventory(source, request.namespaces, kinds, salt, unreadable)
    with open_cluster(
        runtime,
        kubeconfig=request.to_kubeconfig or request.kubeconfig,
        context=request.to_context,
    ) as target:
        after = collect_inventory(target, request.namespaces, kinds, salt)
    return diff_inventories(
        before,
        after,
        labels=(f"context {request.from_context}", f"context {request.to_context}"),
        ignore=ignore,
        fail_on=request.fail_on,
    )
