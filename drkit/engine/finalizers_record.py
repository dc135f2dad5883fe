"""The run record of an on-call `drkit finalizers clear`: a run directory like a drill's, so the history says
who removed which finalizer from which object on which cluster, and when.

`<state dir>/runs/<run id>/journal.jsonl` gets a `run-started` event (the cluster, the actor, the selection),
one `finalizers-removed` event per object the moment the server accepted the patch (so even a clearing killed
halfway leaves its audit trail), then the step and the outcome; `report.json`, `report.md` and `junit.xml`
are the same report as a drill's, mode `finalizers-clear`, one phase `finalizers` with one
`clearFinalizers` step whose details are the clearing's view, so `drkit runs list|show` display it. Who acted
is the kubeconfig user when the context names one, else the local user; both are recorded when known, never
a credential. A dry run changes nothing and records nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import drkit
from drkit.context import Runtime
from drkit.engine.afterwards import FinishedRun, record_finished, run_sinks
from drkit.engine.journal import Journal
from drkit.engine.redaction import Masker
from drkit.engine.runs import RunPaths, new_run_id, run_dir
from drkit.kube.identity import ContextIdentity
from drkit.report.files import write_run_reports
from drkit.report.model import (
    AttemptReport,
    ClusterRef,
    Outcome,
    PhaseReport,
    RunReport,
    StepReport,
    StepState,
)
from drkit.report.stuck_views import AuditRecord, ClearView
from drkit.run_mode import RunMode
from drkit.steps.registry import STEP_RESULTS

MODE = RunMode.FINALIZERS_CLEAR
PHASE = "finalizers"
STEP = "clear"
STEP_KIND = "clearFinalizers"  # the drill step's kind: its result reader renders the same details


class Actor(TypedDict):
    by: str  # who acted, as the record names them
    kubeconfigUser: str | None  # the context's user entry
    localUser: str | None  # the account drkit ran as


def local_user(env: Mapping[str, str]) -> str | None:
    """The local account: $USER / $LOGNAME / $USERNAME, else the password database's name for the uid."""
    for name in ("USER", "LOGNAME", "USERNAME"):
        if env.get(name):
            return env[name]
    try:
        import pwd  # noqa: PLC0415 - POSIX only

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None


def actor_of(identity: ContextIdentity, env: Mapping[str, str]) -> Actor:
    local = local_user(env)
    if identity.user:
        by = f"kubeconfig user {identity.user}" + (f" (local user {local})" if local else "")
    else:
        by = f"local user {local}" if local else "unknown"
    return {"by": by, "kubeconfigUser": identity.user or None, "localUser": local}


@dataclass(frozen=True)
class ClearSelection:
    """What was asked for, as the journal and the report keep it."""

    namespaces: tuple[str, ...]
    finalizers: tuple[str, ...]
    kinds: tuple[str, ...]
    after: float
    force: bool


class ClearRecord:
    """One on-call clearing's run directory: opened after consent and before the first write."""

    def __init__(
        self,
        runtime: Runtime,
        identity: ContextIdentity,
        selection: ClearSelection,
        kubeconfig: str | None,
        notice: Callable[[str], None] = lambda _: None,  # what became of the record (history, metrics)
    ) -> None:
        self.runtime = runtime
        self.notice = notice
        self.run_id = new_run_id(runtime.wall_clock)
        self.paths = RunPaths(run_dir(runtime.state_dir, self.run_id))
        self.cluster = ClusterRef(identity.context, identity.server)
        self.actor = actor_of(identity, runtime.env)
        self.selection = selection
        self.kubeconfig = kubeconfig
        self.label = f"(on-call) {', '.join(selection.namespaces)}"  # the `playbook` column of `runs list`
        self.masker = Masker(runtime.secrets)
        self.journal = Journal(self.paths.journal, runtime.wall_clock, mask=self.masker.data)
        self.records: list[AuditRecord] = []  # for the report of a clearing that broke off
        self.started_at = 0.0
        self.started_mono = 0.0

    def __enter__(self) -> ClearRecord:
        self.paths.directory.mkdir(parents=True, exist_ok=True)
        self.journal.__enter__()
        self.started_at = self.runtime.wall_clock()
        self.started_mono = self.runtime.monotonic()
        self.journal.append(
            "run-started",
            runId=self.run_id,
            mode=MODE,
            playbook="",
            playbookName=self.label,
            namespaces=list(self.selection.namespaces),
            finalizers=list(self.selection.finalizers),
            kinds=list(self.selection.kinds),
            after=self.selection.after,
            force=self.selection.force,
            kubeconfig=self.kubeconfig,
            cluster=self.cluster.to_json(),
            actor=dict(self.actor),
            drkitVersion=drkit.__version__,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.journal.__exit__(*exc_info)

    def removed(self, record: AuditRecord) -> None:
        """One object's finalizers are gone: journaled at once, with the cluster and who did it."""
        self.records.append(record)
        self.journal.append(
            "finalizers-removed", record=record, cluster=self.cluster.to_json(), by=self.actor["by"]
        )

    def finish(
        self, outcome: Outcome, message: str, view: ClearView | None, hint: str | None = None
    ) -> RunReport:
        """Journal the step and the outcome, then write the report files; `view` None: the clearing broke off
        before it had one (the journal's `finalizers-removed` events still say what it did)."""
        done: Mapping[str, object] = view if view is not None else {"dryRun": False, "removed": self.records}
        details: dict[str, Any] = {**done, "cluster": self.cluster.to_json(), "actor": dict(self.actor)}
        status = StepState.SUCCEEDED if outcome is Outcome.SUCCEEDED else StepState.FAILED
        finished_at = self.runtime.wall_clock()
        duration = self.runtime.monotonic() - self.started_mono
        step = StepReport(
            phase=PHASE,
            index=1,
            name=STEP,
            kind=STEP_KIND,
            status=status,
            message=message,
            hint=hint,
            details=details,
            started_at=self.started_at,
            finished_at=finished_at,
            duration=duration,
            attempts=1,
            destructive=True,
        )
        self.journal.append("step-finished", step=step.to_json())
        summary = f"{message}; on {self.cluster.where}, by {self.actor['by']}"
        self.journal.append("run-finished", outcome=str(outcome), message=summary)
        report = RunReport(
            run_id=self.run_id,
            playbook_name=self.label,
            playbook_path="",
            mode=MODE,
            outcome=outcome,
            phases=(
                PhaseReport(name=PHASE, steps=(step,), started_at=self.started_at, finished_at=finished_at),
            ),
            rto_measured=duration,
            total_duration=duration,
            started_at=self.started_at,
            finished_at=finished_at,
            first_started_at=self.started_at,
            elapsed=duration,
            step_time=duration,
            attempts=(AttemptReport(self.started_at, finished_at, outcome),),
            cluster=self.cluster,
            message=summary,
            drkit_version=drkit.__version__,
        )
        masked = self.masker.data(report.to_json())
        report = RunReport.from_json(masked, STEP_RESULTS) if isinstance(masked, dict) else report
        write_run_reports(report, self.paths.directory)
        finished = FinishedRun(report, self.paths.directory, self.runtime, say=self.notice)
        for line in record_finished(finished, run_sinks(self.runtime)):
            self.notice(line)
        return report
