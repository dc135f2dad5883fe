"""Each kind's typed result: read from the details its step writes, kept byte for byte in report.json, read
back by `drkit report RUN_ID` through the kind's registered reader, and rendered as the lines people read.

The details below are shaped as the steps write them; the expected lines are what an on-call person should
see for them, written out by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from drkit.report.highlights import audit_rows, orphan_notes, step_highlights
from drkit.report.json_report import dumps, read_report, write_atomically
from drkit.report.markdown import render_markdown
from drkit.report.model import Outcome, PhaseReport, RunReport, StepReport, StepState
from drkit.report.results import AuditRow, Highlight, StepSummary, read_summary
from drkit.run_mode import RunMode
from drkit.steps.registry import STEP_RESULTS

CLEARED: dict[str, object] = {
    "dryRun": False,
    "removed": [
        {
            "object": "Model financial-inference/baseline-predictor",
            "uid": "9f1c",
            "finalizersRemoved": ["seldon.model.finalizer"],
            "finalizersKept": ["example.com/backup"],
            "deletionTimestamp": "2026-01-01T00:00:00Z",
            "ageSeconds": 95.0,
            "owner": "Seldon Core v2 scheduler",
            "at": "2026-01-01T00:01:35Z",
            "resourceVersionBefore": "812",
            "resourceVersionAfter": "815",
        },
        {
            "object": "Experiment financial-inference/ab-test",
            "uid": "77aa",
            "finalizersRemoved": ["seldon.experiment.finalizer"],
            "finalizersKept": [],
            "deletionTimestamp": "",
            "ageSeconds": None,
            "owner": "",
            "at": "2026-01-01T00:01:36Z",
            "resourceVersionBefore": "813",
            "resourceVersionAfter": "816",
        },
    ],
    "notStuckYet": [],
    "kept": [],
    "orphaned": ["the scheduler never unloaded model baseline-predictor from server mlserver"],
    "namespaces": [
        {"name": "financial-inference", "gone": False, "finalized": True, "message": "finalized by force"},
        {"name": "financial-mlops", "gone": True, "finalized": False, "message": "gone"},
    ],
    "remaining": ["Server financial-inference/mlserver"],
}


def _step(kind: str, details: Mapping[str, object], status: StepState = StepState.SUCCEEDED) -> StepReport:
    return StepReport(
        phase="p",
        index=1,
        name="s",
        kind=kind,
        status=status,
        message="m",
        details=dict(details),
        summary=read_summary(kind, details, STEP_RESULTS),
    )


def _report(*steps: StepReport) -> RunReport:
    return RunReport(
        run_id="20260101-000000-abcd",
        playbook_name="platform",
        playbook_path="p.yaml",
        mode=RunMode.DRILL,
        outcome=Outcome.SUCCEEDED,
        phases=(PhaseReport("p", steps),),
    )


def _read_back(report: RunReport, tmp_path: Path) -> RunReport:
    """Through report.json, as `drkit report RUN_ID` reads it."""
    path = tmp_path / "report.json"
    write_atomically(path, dumps(report))
    return read_report(path, STEP_RESULTS)


def _lines(highlights: tuple[Highlight, ...]) -> list[tuple[str, tuple[str, ...], bool]]:
    return [(h.title, h.lines, h.warning) for h in highlights]


def test_cleared_finalizers_read_back_from_report_json_render_as_before(tmp_path: Path) -> None:
    report = _report(_step("clearFinalizers", CLEARED))
    [again] = _read_back(report, tmp_path).steps

    assert again.details == CLEARED  # report.json keeps the details as the step wrote them
    assert _lines(step_highlights(again)) == [
        (
            "finalizers removed",
            (
                "Model financial-inference/baseline-predictor: seldon.model.finalizer (deleted 1m35s ago; "
                "owner: Seldon Core v2 scheduler); kept example.com/backup",
                "Experiment financial-inference/ab-test: seldon.experiment.finalizer "
                "(deletion time unknown; owner: unknown)",
            ),
            False,
        ),
        (
            "namespaces finalized by force (objects inside may be stranded)",
            ("namespace financial-inference: finalized by force",),
            True,
        ),
        (
            "may be orphaned (check by hand)",
            ("the scheduler never unloaded model baseline-predictor from server mlserver",),
            True,
        ),
        ("still there", ("Server financial-inference/mlserver",), True),
    ]
    assert audit_rows([again]) == (
        AuditRow(
            "p/s",
            "Model financial-inference/baseline-predictor",
            ("seldon.model.finalizer",),
            ("example.com/backup",),
            95.0,
            "Seldon Core v2 scheduler",
            "2026-01-01T00:01:35Z",
            dry_run=False,
        ),
        AuditRow(
            "p/s",
            "Experiment financial-inference/ab-test",
            ("seldon.experiment.finalizer",),
            (),
            None,
            "unknown",
            "2026-01-01T00:01:36Z",
            dry_run=False,
        ),
    )
    assert orphan_notes([again]) == (
        "the scheduler never unloaded model baseline-predictor from server mlserver",
    )


def test_a_dry_run_clearing_says_what_it_would_remove_and_records_no_removal_time(tmp_path: Path) -> None:
    details = {**CLEARED, "dryRun": True, "namespaces": [], "remaining": [], "orphaned": []}
    [again] = _read_back(_report(_step("clearFinalizers", details)), tmp_path).steps

    [highlight] = step_highlights(again)
    assert highlight.title == "finalizers drkit would remove"
    assert [(row.at, row.dry_run) for row in audit_rows([again])] == [("", True), ("", True)]


def test_apply_ready_times_show_the_slowest_three_then_what_never_got_ready(tmp_path: Path) -> None:
    details = {
        "source": "kustomize manifests/base",
        "dryRun": False,
        "waves": 2,
        "applied": 5,
        "ready": [
            {"object": "ConfigMap ml/settings", "readyAfterSeconds": 0.2},
            {"object": "Service ml/api", "readyAfterSeconds": 0.25},
            {"object": "Deployment ml/api", "readyAfterSeconds": 12.4},
            {"object": "Deployment ml/worker", "readyAfterSeconds": 64.0},
        ],
        "notReady": [
            {"object": "Model ml/baseline", "status": "InProgress", "message": "ModelReady False"},
            {"object": "Server ml/mlserver", "status": "Failed", "message": ""},
        ],
        "failed": [{"object": "Secret ml/creds", "error": "HTTP 422: metadata.name is invalid"}],
    }
    [again] = _read_back(_report(_step("apply", details, StepState.FAILED)), tmp_path).steps

    assert _lines(step_highlights(again)) == [
        (
            "slowest to become ready",
            ("Deployment ml/worker  1m04s", "Deployment ml/api  12s", "Service ml/api  250ms"),
            False,
        ),
        (
            "not ready",
            ("Model ml/baseline: InProgress (ModelReady False)", "Server ml/mlserver: Failed"),
            True,
        ),
        ("not applied", ("Secret ml/creds: HTTP 422: metadata.name is invalid",), True),
    ]


def test_wait_reads_its_objects_as_ready_times_and_the_ones_not_done(tmp_path: Path) -> None:
    details = {
        "for": "ready",
        "target": "Model ml/baseline, Model ml/enhanced",
        "waited": 30.0,
        "objects": [
            {
                "object": "Model ml/baseline",
                "done": True,
                "status": "Current",
                "message": "",
                "readyAfterSeconds": 4.5,
            },
            {
                "object": "Model ml/enhanced",
                "done": False,
                "status": "InProgress",
                "message": "waiting for server",
                "readyAfterSeconds": None,
            },
        ],
    }
    [again] = _read_back(_report(_step("wait", details, StepState.FAILED)), tmp_path).steps

    assert _lines(step_highlights(again)) == [
        ("ready after", ("Model ml/baseline  4.5s",), False),
        ("not ready", ("Model ml/enhanced: InProgress (waiting for server)",), True),
    ]


def test_a_workflow_names_itself_how_it_ended_and_its_failed_nodes(tmp_path: Path) -> None:
    details = {
        "template": "argo/financial-training-pipeline-template",
        "parameters": {"model-variant": "baseline"},
        "reattached": True,
        "workflow": "train-x7k2p",
        "namespace": "argo",
        "uid": "1f2e",
        "phase": "Failed",
        "startedAt": "2026-01-01T00:00:00Z",
        "finishedAt": "2026-01-01T00:02:05Z",
        "duration": 125.0,
        "progress": "2/3",
        "nodes": [
            {"name": "prepare", "template": "prepare", "type": "Pod", "phase": "Succeeded"},
            {"name": "train", "template": "train", "type": "Pod", "phase": "Failed", "message": "OOMKilled"},
            {"name": "register", "template": "register", "type": "Pod", "phase": "Error"},
        ],
        "timedOut": True,
    }
    [again] = _read_back(_report(_step("pipeline", details, StepState.FAILED)), tmp_path).steps

    assert _lines(step_highlights(again)) == [
        (
            "workflow",
            (
                "argo/train-x7k2p: Failed in 2m05s (reattached)",
                "drkit stopped waiting (timeout); the workflow may still be running",
                "node train: Failed (OOMKilled)",
                "node register: Error",
            ),
            True,
        )
    ]


def test_a_pipeline_that_never_reached_a_workflow_has_nothing_to_highlight(tmp_path: Path) -> None:
    details = {"template": "argo/t", "parameters": {}, "reattached": False}
    [again] = _read_back(_report(_step("pipeline", details, StepState.FAILED)), tmp_path).steps
    assert step_highlights(again) == ()


def test_objects_a_delete_left_are_listed_ten_at_most(tmp_path: Path) -> None:
    remaining = [f"Pod ml/worker-{n}" for n in range(12)]
    [again] = _read_back(_report(_step("delete", {"remaining": remaining}, StepState.FAILED)), tmp_path).steps

    [highlight] = step_highlights(again)
    assert (highlight.title, highlight.warning) == ("still there", True)
    assert highlight.lines[0] == "Pod ml/worker-0"
    assert highlight.lines[9] == "Pod ml/worker-9"
    assert highlight.lines[10:] == ("and 2 more (see report.json)",)


def test_model_uris_say_what_changed_what_did_not_and_what_failed(tmp_path: Path) -> None:
    def model(name: str, namespace: str | None, **rest: object) -> dict[str, object]:
        return {"file": "models.yaml", "name": name, "namespace": namespace, "query": "run", **rest}

    details = {
        "models": [
            model(
                "baseline",
                "ml",
                old="gs://old/b",
                new="mlflow-artifacts:/1/abc/artifacts/model",
                changed=True,
            ),
            model("enhanced", None, old="gs://old/e", new="gs://old/e", changed=False),
            model(
                "canary", "ml", old="gs://old/c", new=None, changed=False, error="no run matches the filter"
            ),
        ],
        "skipped": [],
        "filesChanged": ["models.yaml"],
    }
    [again] = _read_back(_report(_step("modelUris", details)), tmp_path).steps

    assert _lines(step_highlights(again)) == [
        (
            "model storage URIs",
            (
                "ml/baseline: mlflow-artifacts:/1/abc/artifacts/model",
                "enhanced: unchanged, gs://old/e",
                "ml/canary: no run matches the filter",
            ),
            False,
        )
    ]


def test_a_kind_without_a_reader_shows_its_message_alone(tmp_path: Path) -> None:
    [again] = _read_back(_report(_step("command", {"outputTail": ["ok"], "exitCode": 0})), tmp_path).steps
    assert again.summary is None
    assert step_highlights(again) == ()


def test_a_step_that_did_not_finish_has_no_highlights_whatever_its_details() -> None:
    assert step_highlights(_step("delete", {"remaining": ["Pod ml/a"]}, StepState.NOT_RUN)) == ()


def test_report_json_is_the_same_bytes_after_a_read_back(tmp_path: Path) -> None:
    report = _report(_step("clearFinalizers", CLEARED), _step("delete", {"remaining": ["Pod ml/a"]}))
    first = dumps(report)
    assert dumps(_read_back(report, tmp_path)) == first
    assert "summary" not in json.loads(first)["phases"][0]["steps"][0]


@dataclass(frozen=True)
class _Restored(StepSummary):
    """A kind the report layer has never heard of."""

    volumes: tuple[str, ...]

    def highlights(self) -> tuple[Highlight, ...]:
        return (Highlight("volumes restored", self.volumes),)


def _restored(details: Mapping[str, object]) -> _Restored:
    volumes = details.get("volumes")
    return _Restored(tuple(str(v) for v in volumes) if isinstance(volumes, list) else ())


@pytest.mark.parametrize("via", ["as the engine attaches it", "report.json"])
def test_a_new_kind_is_rendered_through_the_reader_it_registers(via: str, tmp_path: Path) -> None:
    readers = {**STEP_RESULTS, "restoreVolumes": _restored}
    details = {"volumes": ["pvc ml/data from snapshot s-1"]}
    step = replace(_step("restoreVolumes", details), summary=read_summary("restoreVolumes", details, readers))
    report = _report(step)
    if via == "report.json":
        path = tmp_path / "report.json"
        write_atomically(path, dumps(report))
        report = read_report(path, readers)

    assert "- `p/s` volumes restored: pvc ml/data from snapshot s-1" in render_markdown(report).splitlines()


def test_a_clearing_that_removed_nothing_still_has_its_audit_section(tmp_path: Path) -> None:
    nothing = {**CLEARED, "removed": [], "orphaned": [], "namespaces": [], "remaining": []}
    report = _read_back(_report(_step("clearFinalizers", nothing)), tmp_path)
    assert "## Finalizers removed (audit)\n\nNo finalizers were removed." in render_markdown(report)


def test_a_clearings_lines_are_in_the_audit_not_among_the_step_details(tmp_path: Path) -> None:
    markdown = render_markdown(_read_back(_report(_step("clearFinalizers", CLEARED)), tmp_path))
    audit = markdown[markdown.index("## Finalizers removed (audit)") :]
    assert (
        "| Model financial-inference/baseline-predictor | seldon.model.finalizer (kept: example.com/backup) |"
        in audit
    )
    assert "⚠️ **still there:**\n\n- Server financial-inference/mlserver" in audit
    assert "### Step details" not in markdown
