"""docs/report.schema.json and docs/report-schema.md are generated from drkit/report/schema.py and committed;
a report the model writes must validate against the schema, and the schema must reject what it does not
describe, so a key added to a `to_json` without its description fails here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from helpers import REPO_ROOT, run_drkit
from report_support import DIFF, PARITY

from drkit.report.collected import CollectedReport
from drkit.report.json_report import dumps
from drkit.report.model import (
    AttemptReport,
    ClusterRef,
    Outcome,
    RetryCount,
    RunReport,
    StepReport,
    StepState,
    VariableReport,
)

DOCS = REPO_ROOT / "docs"
REGENERATE = "is out of date with drkit/report/schema.py: run `make docs` and commit the result"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((DOCS / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(document: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(document)]


def test_committed_json_schema_is_what_the_code_generates(tmp_path: Path) -> None:
    result = run_drkit("schema", "--of", "report", "-o", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (DOCS / "report.schema.json").read_text(encoding="utf-8") == result.stdout, (
        f"report.schema.json {REGENERATE}"
    )


def test_committed_reference_is_what_the_code_generates(tmp_path: Path) -> None:
    result = run_drkit("schema", "--of", "report", "-o", "markdown", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (DOCS / "report-schema.md").read_text(encoding="utf-8") == result.stdout, (
        f"report-schema.md {REGENERATE}"
    )


def _with_everything(report: RunReport) -> RunReport:
    """The fixture's failed drill with each optional part present: a parity verdict and a reproduction diff,
    a finally step that gathered files and retried, a resumed attempt interrupted by a signal, a cluster and
    a secret variable."""
    parity = StepReport("validate", 3, "parity", "predictionParity", StepState.FAILED, parity=PARITY)
    diff = StepReport("validate", 4, "diff", "reproductionDiff", StepState.FAILED, diff=DIFF)
    validate = report.phases[-1]
    phases = (*report.phases[:-1], dataclasses.replace(validate, steps=(*validate.steps, parity, diff)))
    scale_up = StepReport(
        phase="finally",
        index=1,
        name="scale-up",
        kind="command",
        status=StepState.FAILED,
        message="exit status 1",
        retries=(RetryCount("HTTP 503", 2),),
        collected=CollectedReport(
            "collected/finally-1", files=("events.txt",), warnings=("Pod ml/x: BackOff",)
        ),
    )
    return dataclasses.replace(
        report,
        phases=phases,
        finally_steps=(scale_up,),
        attempts=(
            AttemptReport(1_767_225_000.0, 1_767_225_100.0, Outcome.INTERRUPTED, signal="SIGTERM"),
            AttemptReport(1_767_225_600.0, None, None),
        ),
        resumed=True,
        cluster=ClusterRef("drkit-lab", "https://127.0.0.1:6443"),
        variables=(VariableReport("password", None, "--set"), VariableReport("ns", "ml", "playbook")),
    )


def test_a_failed_drill_with_a_finally_step_validates(report: RunReport) -> None:
    document = json.loads(dumps(_with_everything(report)))
    assert document["finally"][0]["collected"]  # the optional parts are there
    assert {"parity", "reproductionDiff"} <= {key for step in document["phases"][-1]["steps"] for key in step}
    assert document["attempts"][0]["signal"] == "SIGTERM"
    assert _errors(document) == []


def test_a_plan_with_nothing_recorded_validates(report: RunReport) -> None:
    planned = dataclasses.replace(report, run_id=None, outcome=Outcome.PLANNED, started_at=None, rto=None)
    assert _errors(json.loads(dumps(planned))) == []


def test_a_key_the_schema_does_not_describe_is_rejected(report: RunReport) -> None:
    document = json.loads(dumps(report))
    document["phases"][0]["steps"][0]["surprise"] = 1
    assert any("surprise" in error for error in _errors(document))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("outcome",), "exploded"),
        (("schemaVersion",), 1),
        (("phases", 0, "steps", 0, "duration"), "4s"),
        (("phases", 2, "steps", 2, "parity", "models", 0, "verdict"), "close enough"),
        (("phases", 2, "steps", 3, "reproductionDiff", "counts", "missing"), "one"),
    ],
)
def test_a_wrong_value_is_rejected(report: RunReport, path: tuple[str | int, ...], value: object) -> None:
    document = json.loads(dumps(_with_everything(report)))
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert _errors(document), f"{path} = {value!r} was accepted"


def test_the_reference_describes_every_key_a_report_writes(report: RunReport) -> None:
    reference = (DOCS / "report-schema.md").read_text(encoding="utf-8")
    document = json.loads(dumps(_with_everything(report)))
    parity, diff = document["phases"][-1]["steps"][-2:]
    step = document["finally"][0]
    keys = [
        *document,
        *document["phases"][0],
        *step,
        *step["collected"],
        *document["attempts"][0],
        *parity["parity"]["models"][1],
        *parity["parity"]["models"][1]["worst"],
        *diff["reproductionDiff"]["objects"][1],
        *diff["reproductionDiff"]["objects"][1]["fields"][0],
    ]
    for key in keys:
        assert f"| `{key}` |" in reference, key


def test_every_object_says_what_it_is() -> None:
    schema = json.loads((DOCS / "report.schema.json").read_text(encoding="utf-8"))
    for name, definition in {"RunReport": schema, **schema["$defs"]}.items():
        # a class without a docstring would show the signature dataclass() writes there
        assert definition["description"], name
        assert not definition["description"].startswith(f"{name}("), name
