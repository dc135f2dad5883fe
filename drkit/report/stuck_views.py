"""Stuck deletions as on-call people read them: which object, held by which finalizer, for how long, and who
was supposed to remove it; then what drkit removed (or would remove) and what may be left orphaned.

The shapes below are the JSON form `drkit finalizers list|clear -o json` prints and the clearFinalizers step
keeps in its result details; the step and the use case build them, this module only renders them.
"""

from __future__ import annotations

from typing import TypedDict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from drkit.playbook.durations import format_duration


class StuckObjectView(TypedDict):
    object: str  # "Model financial-inference/baseline-predictor"
    apiVersion: str
    kind: str
    namespace: str
    name: str
    uid: str
    finalizers: list[str]
    owner: str  # the likely owner(s) of the finalizers, joined
    deletionTimestamp: str
    ageSeconds: float
    stuck: bool  # deleted longer ago than `after`: drkit may clear it


class ConditionView(TypedDict):
    type: str
    status: str
    reason: str
    message: str


class NamespaceView(TypedDict):
    name: str
    exists: bool
    phase: str
    deletionTimestamp: str | None
    ageSeconds: float | None
    finalizers: list[str]  # spec.finalizers (the `kubernetes` finalizer of the namespace controller)
    conditions: list[ConditionView]


class DiagnosisView(TypedDict):
    after: float
    namespaces: list[NamespaceView]
    objects: list[StuckObjectView]
    unreadable: list[str]  # resource types that could not be listed, and why


class AuditRecord(TypedDict):
    object: str
    uid: str
    finalizersRemoved: list[str]
    finalizersKept: list[str]
    deletionTimestamp: str
    ageSeconds: float
    owner: str
    at: str  # when drkit removed them (RFC 3339, UTC)
    resourceVersionBefore: str  # the version the removal was guarded by (what drkit had read)
    resourceVersionAfter: str | None  # the version the server answered the patch with; None in a dry run


class NamespaceOutcomeView(TypedDict):
    name: str
    gone: bool
    finalized: bool  # drkit called /finalize (force): objects still inside may be stranded
    message: str


class ClearView(TypedDict):
    dryRun: bool
    removed: list[AuditRecord]  # in a dry run: what would be removed
    notStuckYet: list[str]
    kept: list[str]  # objects left alone because none of their finalizers was selected
    orphaned: list[str]  # external state the removed finalizers were guarding
    namespaces: list[NamespaceOutcomeView]  # in a dry run: what would be waited for (or finalized)
    remaining: list[str]  # objects still there at the end; empty in a dry run, which changed nothing
    diagnosis: DiagnosisView


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def render_diagnosis(console: Console, view: DiagnosisView) -> None:
    """The namespaces and the objects stuck in deletion in them."""
    for ns in view["namespaces"]:
        if not ns["exists"]:
            console.print(f"namespace {escape(ns['name'])}: not found")
            continue
        state = ns["phase"] or "Active"
        if ns["deletionTimestamp"]:
            state += f" for {_age(ns['ageSeconds'])}"
        finalizers = ", ".join(ns["finalizers"]) or "none"
        console.print(f"namespace {escape(ns['name'])}: {state} (spec.finalizers: {escape(finalizers)})")
        for cond in ns["conditions"]:
            if cond["status"] != "True" and cond["type"] != "NamespaceDeletionContentFailure":
                continue
            reason = f" {cond['reason']}" if cond["reason"] else ""
            console.print(f"  {escape(cond['type'])}{escape(reason)}: {escape(cond['message'])}")
    objects = view["objects"]
    if not objects:
        console.print("no objects are stuck in deletion")
    else:
        table = Table(box=None, pad_edge=False, show_edge=False)
        for column in ("OBJECT", "FINALIZERS", "DELETED", "LIKELY OWNER", "STATE"):
            table.add_column(column)
        for obj in objects:
            table.add_row(
                escape(obj["object"]),
                escape(", ".join(obj["finalizers"])),
                f"{_age(obj['ageSeconds'])} ago",
                escape(obj["owner"]),
                "stuck" if obj["stuck"] else f"not stuck yet (< {_age(view['after'])})",
            )
        console.print(table)
    for problem in view["unreadable"]:
        console.print(f"[yellow]could not look at {escape(problem)}[/yellow]")


def render_clear(console: Console, view: ClearView) -> None:
    """What was removed (or, in a dry run, would be), what was left, and what may be orphaned. A dry run
    changed nothing, so it says what it would do and never that something is "still there"."""
    dry_run = view["dryRun"]
    verb = "would remove" if dry_run else "removed"
    if not view["removed"]:
        console.print(f"{verb} no finalizers")
    for record in view["removed"]:
        kept = f" (kept: {', '.join(record['finalizersKept'])})" if record["finalizersKept"] else ""
        console.print(
            f"{verb} {escape(', '.join(record['finalizersRemoved']))} from {escape(record['object'])}"
            f" (deleted {_age(record['ageSeconds'])} ago; owner: {escape(record['owner'])}){escape(kept)}"
        )
    for name in view["notStuckYet"]:
        console.print(f"left alone, not stuck long enough yet: {escape(name)}")
    for name in view["kept"]:
        console.print(f"left alone, none of its finalizers selected: {escape(name)}")
    for ns in view["namespaces"]:
        console.print(f"namespace {escape(ns['name'])}: {escape(ns['message'])}")
    for name in view["remaining"]:
        console.print(f"[yellow]still there: {escape(name)}[/yellow]")
    orphaned = "would be left behind if cleared" if dry_run else "may be orphaned"
    for note in view["orphaned"]:
        console.print(f"[yellow]{orphaned}: {escape(note)}[/yellow]")
