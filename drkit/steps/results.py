"""The typed results of the step kinds whose details the report highlights, each read back from its details.

A step writes its details (report.json keeps them whole, in the shape they have always had); its kind
registers the reader here (`StepKind.result`), and the report renders what the reader returns
(drkit.report.results). Kept in one module because two kinds share a shape (apply and wait both report ready
times) and kinds do not import one another. Readers are lenient: a field an older drkit did not write, or a
run cut short did not reach, reads as empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.playbook.durations import format_duration
from drkit.report.results import AuditRow, Highlight, ModelUriRow, StepSummary, limited

SLOWEST_SHOWN = 3  # ready times: the slowest few say where the time went; the rest is in report.json


@dataclass(frozen=True)
class FinalizerRemoval:
    """One object whose finalizers were removed (or, in a dry run, would be)."""

    object: str
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    age: float | None  # seconds between the deletion request and the removal; None: unknown
    owner: str  # who was supposed to remove them; "unknown" when nobody could tell
    at: str  # when drkit removed them (RFC 3339); "" when not recorded

    def line(self) -> str:
        when = f"deleted {format_duration(self.age)} ago" if self.age is not None else "deletion time unknown"
        line = f"{self.object}: {', '.join(self.removed)} ({when}; owner: {self.owner})"
        return line + (f"; kept {', '.join(self.kept)}" if self.kept else "")


@dataclass(frozen=True)
class ForcedNamespace:
    """A namespace drkit finalized by force (objects still inside may be stranded)."""

    name: str
    message: str


@dataclass(frozen=True)
class FinalizerClearing(StepSummary):
    """clearFinalizers (and the on-call `drkit finalizers clear`, which records the same details)."""

    dry_run: bool
    removals: tuple[FinalizerRemoval, ...]
    forced: tuple[ForcedNamespace, ...]
    orphaned: tuple[str, ...]
    remaining: tuple[str, ...]

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> FinalizerClearing:
        return cls(
            dry_run=bool(details.get("dryRun")),
            removals=tuple(
                FinalizerRemoval(
                    object=str(record.get("object", "")),
                    removed=_texts(record.get("finalizersRemoved")),
                    kept=_texts(record.get("finalizersKept")),
                    age=_seconds(record.get("ageSeconds")),
                    owner=str(record.get("owner") or "unknown"),
                    at=str(record.get("at") or ""),
                )
                for record in _records(details.get("removed"))
            ),
            forced=tuple(
                ForcedNamespace(str(ns.get("name")), str(ns.get("message")))
                for ns in _records(details.get("namespaces"))
                if ns.get("finalized")
            ),
            orphaned=_texts(details.get("orphaned")),
            remaining=_texts(details.get("remaining")),
        )

    def highlights(self) -> tuple[Highlight, ...]:
        out: list[Highlight] = []
        if self.removals:
            title = "finalizers drkit would remove" if self.dry_run else "finalizers removed"
            out.append(Highlight(title, tuple(r.line() for r in self.removals)))
        if self.forced:
            lines = tuple(f"namespace {ns.name}: {ns.message}" for ns in self.forced)
            out.append(
                Highlight("namespaces finalized by force (objects inside may be stranded)", lines, True)
            )
        if self.orphaned:
            out.append(Highlight("may be orphaned (check by hand)", limited(self.orphaned), True))
        return (*out, *_still_there(self.remaining))

    def audit_rows(self, step: str) -> tuple[AuditRow, ...]:
        return tuple(
            AuditRow(
                step=step,
                object=r.object,
                removed=r.removed,
                kept=r.kept,
                age=r.age,
                owner=r.owner,
                at="" if self.dry_run else r.at,  # a dry run removed nothing, whatever a record says
                dry_run=self.dry_run,
            )
            for r in self.removals
        )

    def orphan_notes(self) -> tuple[str, ...]:
        return self.orphaned

    def audits_finalizers(self) -> bool:
        return True


@dataclass(frozen=True)
class ReadyTime:
    object: str
    after: float  # seconds from the step's start until the object was ready


@dataclass(frozen=True)
class ObjectProblem:
    """An object that did not get where the step wanted it: its state (or error) and why."""

    object: str
    state: str
    message: str = ""

    def line(self) -> str:
        return f"{self.object}: {self.state}" + (f" ({self.message})" if self.message else "")


@dataclass(frozen=True)
class ReadyTimes(StepSummary):
    """apply (`ready`, `notReady`, `failed`) and wait (`objects`): how long objects took to become ready,
    and the ones that never did or were never applied."""

    ready: tuple[ReadyTime, ...]
    not_ready: tuple[ObjectProblem, ...]
    not_applied: tuple[ObjectProblem, ...]

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> ReadyTimes:
        waited = _records(details.get("objects"))  # wait's records: one per object, done or not
        return cls(
            ready=tuple(
                ReadyTime(str(record.get("object")), after)
                for record in _records(details.get("ready")) or waited
                if (after := _seconds(record.get("readyAfterSeconds"))) is not None
            ),
            not_ready=tuple(
                ObjectProblem(
                    str(record.get("object")), str(record.get("status")), str(record.get("message") or "")
                )
                for record in (
                    *_records(details.get("notReady")),
                    *(record for record in waited if record.get("done") is False),
                )
            ),
            not_applied=tuple(
                ObjectProblem(str(record.get("object")), str(record.get("error")))
                for record in _records(details.get("failed"))
            ),
        )

    def highlights(self) -> tuple[Highlight, ...]:
        out: list[Highlight] = []
        if self.ready:
            slowest = sorted(self.ready, key=lambda r: r.after, reverse=True)[:SLOWEST_SHOWN]
            title = "slowest to become ready" if len(self.ready) > 1 else "ready after"
            out.append(Highlight(title, tuple(f"{r.object}  {format_duration(r.after)}" for r in slowest)))
        if self.not_ready:
            out.append(Highlight("not ready", limited([p.line() for p in self.not_ready]), True))
        if self.not_applied:
            out.append(Highlight("not applied", limited([p.line() for p in self.not_applied]), True))
        return tuple(out)


@dataclass(frozen=True)
class WorkflowRun(StepSummary):
    """pipeline: the Argo workflow drkit submitted (or re-attached to), how it ended, its failed nodes."""

    workflow: str  # "" when the step never got as far as a workflow
    namespace: str
    phase: str
    duration: float | None
    reattached: bool
    timed_out: bool
    failed_nodes: tuple[ObjectProblem, ...]  # node name, its phase and message

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> WorkflowRun:
        workflow = details.get("workflow")
        return cls(
            workflow=workflow if isinstance(workflow, str) else "",
            namespace=str(details.get("namespace") or ""),
            phase=str(details.get("phase") or "unknown"),
            duration=_seconds(details.get("duration")),
            reattached=bool(details.get("reattached")),
            timed_out=bool(details.get("timedOut")),
            failed_nodes=tuple(
                ObjectProblem(
                    f"node {node.get('name')}", str(node.get("phase")), str(node.get("message") or "")
                )
                for node in _records(details.get("nodes"))
                if node.get("phase") in ("Failed", "Error")
            ),
        )

    def highlights(self) -> tuple[Highlight, ...]:
        if not self.workflow:
            return ()
        full = f"{self.namespace}/{self.workflow}" if self.namespace else self.workflow
        took = f" in {format_duration(self.duration)}" if self.duration is not None else ""
        lines = [f"{full}: {self.phase}{took}" + (" (reattached)" if self.reattached else "")]
        if self.timed_out:
            lines.append("drkit stopped waiting (timeout); the workflow may still be running")
        lines += [node.line() for node in self.failed_nodes]
        return (Highlight("workflow", tuple(lines), warning=bool(self.failed_nodes)),)


@dataclass(frozen=True)
class Deletion(StepSummary):
    """delete: the objects still there when the step ended."""

    remaining: tuple[str, ...]

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> Deletion:
        return cls(_texts(details.get("remaining")))

    def highlights(self) -> tuple[Highlight, ...]:
        return _still_there(self.remaining)


@dataclass(frozen=True)
class ModelUri:
    """One model's storage URI: rewritten to `new`, left at `old`, or not resolved (`error`)."""

    name: str  # namespace/name, or name
    old: str
    new: str
    changed: bool
    error: str

    def line(self) -> str:
        if self.error:
            return f"{self.name}: {self.error}"
        return f"{self.name}: {self.new}" if self.changed else f"{self.name}: unchanged, {self.old}"


@dataclass(frozen=True)
class ModelUriRewrite(StepSummary):
    """modelUris: each model's storage URI, as resolved from MLflow."""

    models: tuple[ModelUri, ...]

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> ModelUriRewrite:
        return cls(
            tuple(
                ModelUri(
                    name=f"{m.get('namespace')}/{m.get('name')}"
                    if m.get("namespace")
                    else str(m.get("name")),
                    old=str(m.get("old")),
                    new=str(m.get("new")),
                    changed=bool(m.get("changed")),
                    error=str(m.get("error") or ""),
                )
                for m in _records(details.get("models"))
            )
        )

    def highlights(self) -> tuple[Highlight, ...]:
        lines = tuple(model.line() for model in self.models)
        return (Highlight("model storage URIs", lines),) if lines else ()

    def uri_rewrites(self, step: str) -> tuple[ModelUriRow, ...]:
        return tuple(ModelUriRow(step, m.name, m.old, m.new, m.changed, m.error) for m in self.models)


def _still_there(remaining: Sequence[str]) -> tuple[Highlight, ...]:
    return (Highlight("still there", limited(remaining), True),) if remaining else ()


def _records(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _texts(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
