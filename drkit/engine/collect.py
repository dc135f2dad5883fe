"""Gathering what on-call would look at next when a step fails: the current state of the objects the step
names (with their conditions), their Events, the logs of the pods they own, and whatever the playbook's
`collect:` lists ask for, into `<run dir>/collected/<phase>-<index>/`.

It runs while an incident is under way, so it is bounded (each request gives up after a few seconds and is
never repeated; the whole collection stops when its budget is spent), it never changes the run's outcome
(what cannot be read is noted, nothing is raised), every file is masked through the run's Masker, and
Secrets are recorded without their data. A pod's log is kept only once the Secrets the pod takes were read
(the kube adapter registers their values, so the masker hides them): a workload may print them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from drkit.engine.redaction import Masker
from drkit.errors import DrkitError
from drkit.kube import Cluster, ObjectRef
from drkit.playbook.model import CollectSpec
from drkit.report.collected import CollectedReport

REQUEST_SECONDS = 5.0  # one request; never repeated
BUDGET_SECONDS = 30.0  # the whole collection of one failed step
OBJECT_LIMIT = 10  # objects of one step whose state, events and pods are gathered
PODS_PER_OBJECT = 3  # pods of one object whose logs are gathered
WARNINGS_SHOWN = 5  # Warning events the report repeats, newest last
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class FailureEvidence:
    """What to gather for one failed step."""

    phase: str
    index: int
    objects: tuple[ObjectRef, ...]  # named by the step's result
    extra: tuple[CollectSpec, ...]  # the playbook's and the step's `collect:`

    @property
    def directory(self) -> str:
        return f"collected/{self.phase}-{self.index}"


def collect_failure(
    cluster: Callable[[], Cluster],
    evidence: FailureEvidence,
    run_dir: Path,
    masker: Masker,
    monotonic: Callable[[], float],
    *,
    budget: float = BUDGET_SECONDS,
) -> CollectedReport:
    """Gather `evidence` below `run_dir` within `budget` seconds; never raises for what it cannot read."""
    collector = _Collector(run_dir / evidence.directory, masker, monotonic, monotonic() + budget, budget)
    try:
        opened = cluster()
    except DrkitError as exc:
        collector.note(f"no cluster to gather from: {exc.message}")
    else:
        with opened.quick_requests(REQUEST_SECONDS):
            collector.gather(opened, evidence)
    return collector.report(evidence.directory)


@dataclass
class _Collector:
    directory: Path
    masker: Masker
    monotonic: Callable[[], float]
    deadline: float
    budget: float
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # by uid (or name), so none twice
    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by namespace, listed once
    namespace_events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # listed once each
    out_of_time: bool = False

    def gather(self, cluster: Cluster, evidence: FailureEvidence) -> None:
        refs = evidence.objects[:OBJECT_LIMIT]
        if len(evidence.objects) > OBJECT_LIMIT:
            self.note(f"{len(evidence.objects) - OBJECT_LIMIT} more object(s) not gathered")
        for ref in refs:
            self._object(cluster, ref)
        for spec in evidence.extra:
            if spec.what == "events":
                self._namespace_events(cluster, spec.namespace)
            else:
                self._selected_logs(cluster, spec)
        if self.events:
            self._write("events.txt", "".join(f"{_event_line(e)}\n" for e in self._events_in_order()))

    # -- what is gathered --

    def _object(self, cluster: Cluster, ref: ObjectRef) -> None:
        """Its state and conditions, its events, and the events and logs of the pods it is or owns."""
        obj = self._read(
            f"state of {ref}", partial(cluster.get, ref.api_version, ref.kind, ref.name, ref.namespace)
        )
        if obj is not None:
            if shown := _conditions(obj):
                self.conditions.append(f"{ref}: {shown}")
            self._write(f"objects/{_file_name(ref.kind, ref.namespace, ref.name)}.yaml", _yaml(_shown(obj)))
        self._object_events(cluster, ref)
        for pod in self._owned_pods(cluster, obj)[:PODS_PER_OBJECT] if obj is not None else []:
            if (pod_ref := ObjectRef.of(pod)) != ref:  # a pod's own events say why it does not start
                self._object_events(cluster, pod_ref)
            self._pod_logs(cluster, pod, "", CollectSpec.tail)  # as a `collect:` entry gets

    def _object_events(self, cluster: Cluster, ref: ObjectRef) -> None:
        namespace = ref.namespace or "default"  # where the events of cluster-scoped objects are
        for event in self._events_of(cluster, namespace, f"events of {ref}"):
            involved = event.get("involvedObject") or {}
            if involved.get("name") == ref.name and involved.get("kind") == ref.kind:
                self._keep_event(event)

    def _namespace_events(self, cluster: Cluster, namespace: str) -> None:
        for event in self._events_of(cluster, namespace, f"events of namespace {namespace}"):
            self._keep_event(event)

    def _events_of(self, cluster: Cluster, namespace: str, what: str) -> list[dict[str, Any]]:
        """A namespace's events, listed once however many of its objects are gathered: one request, as
        `kubectl get events -n NS` would make, instead of one per object. `what` names the need in a note."""
        if namespace not in self.namespace_events:
            self.namespace_events[namespace] = (
                self._read(what, lambda: cluster.list("v1", "Event", namespace)) or []
            )
        return self.namespace_events[namespace]

    def _owned_pods(self, cluster: Cluster, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The pods `obj` is, owns, or owns through its ReplicaSets (a Deployment's)."""
        meta = obj.get("metadata") or {}
        namespace, uid = meta.get("namespace"), meta.get("uid")
        if obj.get("kind") == "Pod":
            return [dict(obj)]
        if not namespace or not uid:
            return []
        owners = {uid}
        if obj.get("kind") == "Deployment":
            sets = self._read(
                f"ReplicaSets of {namespace}", lambda: cluster.list("apps/v1", "ReplicaSet", namespace)
            )
            owners |= {(rs.get("metadata") or {}).get("uid") for rs in sets or [] if _owned_by(rs, {uid})}
        if namespace not in self.pods:
            self.pods[namespace] = (
                self._read(f"pods of {namespace}", lambda: cluster.list("v1", "Pod", namespace)) or []
            )
        return [pod for pod in self.pods[namespace] if _owned_by(pod, owners)]

    def _selected_logs(self, cluster: Cluster, spec: CollectSpec) -> None:
        pods = self._read(
            f"pods {spec.selector} in {spec.namespace}",
            lambda: cluster.list("v1", "Pod", spec.namespace, label_selector=spec.selector),
        )
        if pods == []:
            self.note(f"no pod in {spec.namespace} matches {spec.selector}")
        for pod in pods or []:
            self._pod_logs(cluster, pod, spec.container, spec.tail)

    def _pod_logs(self, cluster: Cluster, pod: Mapping[str, Any], container: str, tail: int) -> None:
        """The last lines of each container's log, kept only when every value it could hold is masked."""
        meta = pod.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        for each in [container] if container else names:
            log = self._read(
                f"log of {namespace}/{name} {each}", partial(cluster.pod_log, pod, each, tail_lines=tail)
            )
            if log is None:
                continue
            if not log.maskable:
                self.note(f"log of {namespace}/{name} not kept: {log.withheld_because()}")
                return
            self._write(f"logs/{_file_name(namespace, name, each)}.log", log.text)

    # -- bookkeeping --

    def _read(self, what: str, read: Callable[[], Any]) -> Any:
        """One read, or None (noted) when it failed or the budget is spent."""
        if self.monotonic() >= self.deadline:
            if not self.out_of_time:
                self.out_of_time = True
                self.note(f"stopped after the {self.budget:g}s collection budget; not read: {what} and after")
            return None
        try:
            return read()
        except DrkitError as exc:
            self.note(f"{what}: {exc.message}")
            return None

    def _keep_event(self, event: Mapping[str, Any]) -> None:
        meta = event.get("metadata") or {}
        self.events[str(meta.get("uid") or meta.get("name"))] = dict(event)

    def _events_in_order(self) -> list[dict[str, Any]]:
        return sorted(self.events.values(), key=_event_time)

    def _write(self, relative: str, text: str) -> None:
        path = self.directory / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.masker.text(text), encoding="utf-8")
        except OSError as exc:
            self.note(f"cannot write {relative}: {exc.strerror or type(exc).__name__}")
            return
        self.files.append(relative)

    def note(self, text: str) -> None:
        self.notes.append(self.masker.text(text))

    def report(self, directory: str) -> CollectedReport:
        warnings = [_warning_line(e) for e in self._events_in_order() if e.get("type") == "Warning"]
        return CollectedReport(
            directory=directory,
            files=tuple(self.files),
            warnings=tuple(self.masker.text(w) for w in warnings[-WARNINGS_SHOWN:]),
            notes=tuple(self.notes),
            conditions=tuple(self.masker.text(c) for c in self.conditions),
        )


def _shown(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as recorded: no managedFields (noise for a reader); a Secret without its data, nor the copy
    of it `kubectl apply` keeps in an annotation."""
    secret = obj.get("kind") == "Secret"
    shown = {k: v for k, v in obj.items() if not (secret and k in ("data", "stringData"))}
    meta = shown.get("metadata")
    if isinstance(meta, Mapping):
        meta = {k: v for k, v in meta.items() if k != "managedFields"}
        if secret and isinstance(meta.get("annotations"), Mapping):
            meta["annotations"] = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
        shown["metadata"] = meta
    return shown


def _conditions(obj: Mapping[str, Any]) -> str:
    """`Available=False (MinimumReplicasUnavailable), Progressing=True`: the object's conditions in a line."""
    shown = []
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type"):
            reason = f" ({condition['reason']})" if condition.get("reason") else ""
            shown.append(f"{condition['type']}={condition.get('status', '?')}{reason}")
    return ", ".join(shown)


def _owned_by(obj: Mapping[str, Any], uids: Iterable[object]) -> bool:
    wanted = set(uids)
    return any(o.get("uid") in wanted for o in (obj.get("metadata") or {}).get("ownerReferences") or [])


def _event_time(event: Mapping[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or "")


def _involved(event: Mapping[str, Any]) -> str:
    involved = event.get("involvedObject") or {}
    where = "/".join(str(p) for p in (involved.get("namespace"), involved.get("name")) if p)
    return f"{involved.get('kind', '?')} {where}"


def _event_line(event: Mapping[str, Any]) -> str:
    count = event.get("count")
    times = f" (x{count})" if isinstance(count, int) and count > 1 else ""
    return (
        f"{_event_time(event) or '-'}  {event.get('type', '')}  {event.get('reason', '')}  "
        f"{_involved(event)}: {event.get('message', '')}{times}"
    )


def _warning_line(event: Mapping[str, Any]) -> str:
    return f"{_involved(event)}: {event.get('reason', '')}: {event.get('message', '')}"


def _file_name(*parts: str | None) -> str:
    return "-".join(_UNSAFE.sub("_", p) for p in parts if p).lower()


def _yaml(obj: Mapping[str, Any]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(dict(obj), stream)
    return stream.getvalue()


__all__ = ["BUDGET_SECONDS", "REQUEST_SECONDS", "FailureEvidence", "collect_failure"]
