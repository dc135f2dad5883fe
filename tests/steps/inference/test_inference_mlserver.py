"""The `inference` item and step against a real MLServer 1.7.1 serving MLflow sklearn models (conftest)."""

from __future__ import annotations

import dataclasses
import io
import json
import textwrap
from pathlib import Path

from helpers import FakeClock
from inference_support import ServedModels, context, probe, request_for

from drkit.cli import run
from drkit.context import Runtime
from drkit.errors import ExitCode
from drkit.playbook.model import StepSpec
from drkit.playbook.source import Position
from drkit.steps.base import StepStatus
from drkit.steps.check import run_checklist
from drkit.steps.inference import STEP_KIND


def classifier_body(served: ServedModels, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "url": served.url,
        "model": "classifier",
        "request": request_for(served.features),
        "expect": {
            "outputs": [
                {
                    "name": "output-1",
                    "datatype": "INT64",
                    "shape": [2, 1],
                    "data": [[c] for c in served.classes],
                }
            ]
        },
    }
    body.update(extra)
    return body


def test_a_served_model_answers_and_its_predictions_match(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    result = probe(classifier_body(served), tmp_path).attempt(context(runtime, timeout=30))
    assert result.status is StepStatus.SUCCEEDED, result.message
    assert result.details["outputs"] == [{"name": "output-1", "datatype": "INT64", "shape": [2, 1]}]
    # The metadata names the output output-0 while the answer calls it output-1 (mlserver-mlflow 1.7.1).
    assert result.details["metadata"] == {
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
    }


def test_wrong_predictions_fail_naming_the_value_that_differs(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    flipped = [[1 - c] for c in served.classes]
    body = classifier_body(served)
    body["expect"] = {"outputs": [{"name": "output-1", "data": flipped}]}
    result = probe(body, tmp_path).attempt(context(runtime, timeout=30))
    assert result.status is StepStatus.FAILED
    assert result.details["stage"] == "expectation"
    assert (
        f"output 'output-1': 2 of 2 value(s) differ; first at [0, 0]: got {served.classes[0]}, "
        f"expected {flipped[0][0]}" in result.message
    )


def test_expecting_the_metadata_name_says_which_outputs_the_answer_has(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    body = classifier_body(served)
    body["expect"] = {"outputs": [{"name": "output-0", "datatype": "INT64"}]}
    result = probe(body, tmp_path).attempt(context(runtime, timeout=30))
    assert result.status is StepStatus.FAILED
    assert "no output named 'output-0' (the answer has 'output-1')" in result.message


def test_a_wrong_width_request_fails_with_mlservers_schema_message(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    wide = [served.features[0] + served.features[1]]  # one row of 8 values for a (-1, 4) model
    result = probe(classifier_body(served, request=request_for(wide)), tmp_path).attempt(
        context(runtime, timeout=30)
    )
    assert result.status is StepStatus.FAILED
    assert result.details["stage"] == "infer"
    assert result.message.startswith(
        f"model 'classifier' at {served.url}: infer: POST /v2/models/classifier/infer"
    )
    assert "mlflow.exceptions.MlflowException: Failed to enforce schema of data" in result.message
    assert "Shape of input (1, 8) does not match expected shape (-1, 4)" in result.message
    assert "the model's metadata expects 'input-0' FP64 [-1, 4]" in result.message


def test_a_model_that_is_not_loaded_is_reported_as_such(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    result = probe(classifier_body(served, model="absent"), tmp_path).attempt(context(runtime, timeout=30))
    assert result.status is StepStatus.FAILED
    assert result.details["stage"] == "model-ready"
    assert result.details["waiting"] is True
    assert (
        "waiting: model not ready: GET /v2/models/absent/ready answered 404 (not loaded on this server): "
        "Model absent not found" in result.message
    )


def test_a_checklist_retries_a_model_not_ready_yet_until_its_timeout(
    served: ServedModels, runtime: Runtime, clock: FakeClock, tmp_path: Path
) -> None:
    item = probe(classifier_body(served, model="absent"), tmp_path)
    result = run_checklist("serving", [item], context(runtime), timeout=10.0)
    assert result.status is StepStatus.FAILED
    (report,) = result.checklist_items
    assert report.attempts > 2  # retried inside the timeout, on the runtime's (fake) clock
    assert sum(clock.sleeps) >= 10.0
    assert "waiting: model not ready" in report.message


def test_a_model_that_becomes_ready_passes_and_says_what_it_waited_for(
    served: ServedModels, tmp_path: Path
) -> None:
    clock = FakeClock()
    loaded: list[str] = []

    def sleep(seconds: float) -> None:
        # Between the checklist's rounds the model's load finishes: the event the item is waiting for.
        clock.sleep(seconds)
        if not loaded:
            served.load("late")
            loaded.append("late")

    runtime = Runtime(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={},
        cwd=tmp_path,
        monotonic=clock.monotonic,
        sleep=sleep,
    )
    item = probe(classifier_body(served, model="late"), tmp_path)
    result = run_checklist("serving", [item], context(runtime), timeout=60.0)
    assert result.status is StepStatus.SUCCEEDED, result.message
    (report,) = result.checklist_items
    assert report.attempts == 2
    assert "(after 1 not-ready attempt(s), last: model not ready)" in report.message


def test_floats_pass_within_the_tolerance_and_fail_beyond_it(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    shifted = [v + 0.004 for v in served.values]

    def attempt(tolerance: dict[str, float]):  # type: ignore[no-untyped-def]
        body = {
            "url": served.url,
            "model": "regressor",
            "request": request_for(served.features),
            "expect": {"outputs": [{"datatype": "FP64", "data": shifted, "tolerance": tolerance}]},
        }
        return probe(body, tmp_path).attempt(context(runtime, timeout=30))

    assert attempt({"absolute": 0.01}).status is StepStatus.SUCCEEDED
    relative = 0.005 / min(abs(v) for v in shifted)
    assert attempt({"relative": relative}).status is StepStatus.SUCCEEDED
    beyond = attempt({"absolute": 0.001})
    assert beyond.status is StepStatus.FAILED
    assert "2 of 2 value(s) differ (within absolute 0.001)" in beyond.message
    exact = attempt({})
    assert exact.status is StepStatus.FAILED


def test_the_latency_bound_fails_when_the_infer_request_takes_longer(
    served: ServedModels, tmp_path: Path
) -> None:
    clock = FakeClock()

    def ticking() -> float:
        clock.advance(2.0)  # every reading of the clock is 2 s later: any request "takes" at least 2 s
        return clock.now

    runtime = Runtime(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        env={},
        cwd=tmp_path,
        monotonic=ticking,
        sleep=clock.sleep,
    )
    bounded = classifier_body(served)
    bounded["expect"] = {**bounded["expect"], "latency": 1.0}  # type: ignore[dict-item]
    slow = probe(bounded, tmp_path).attempt(context(runtime))
    assert slow.status is StepStatus.FAILED
    assert slow.details["stage"] == "expectation"
    assert "over the bound of 1000ms" in slow.message
    assert float(slow.details["latencySeconds"]) >= 2.0  # type: ignore[arg-type]
    bounded["expect"] = {**bounded["expect"], "latency": 3600.0}  # type: ignore[dict-item]
    assert probe(bounded, tmp_path).attempt(context(runtime)).status is StepStatus.SUCCEEDED


def test_header_values_are_sent_but_never_reported(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    token = "Bearer s3cr3t-t0ken-value"
    result = probe(
        classifier_body(served, model="absent", headers={"Authorization": token, "Seldon-Model": "absent"}),
        tmp_path,
    ).attempt(context(runtime, timeout=30))
    assert result.details["headerNames"] == ["Authorization", "Seldon-Model"]
    assert "s3cr3t" not in result.message + json.dumps(result.details)


def test_url_mode_through_drkit_check(served: ServedModels, runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "two-rows.json").write_text(json.dumps(request_for(served.features)))
    expected = json.dumps([[c] for c in served.classes])
    (tmp_path / "playbook.yaml").write_text(
        textwrap.dedent(f"""\
        apiVersion: drkit.io/v1
        kind: Playbook
        metadata: {{name: serving}}
        phases:
          - name: validate
            steps: [{{check: serving}}]
        checklists:
          serving:
            - name: classifier-answers
              inference:
                url: {served.url}
                model: classifier
                requestFile: requests/two-rows.json
                expect:
                  outputs: [{{name: output-1, datatype: INT64, shape: [2, 1], data: {expected}}}]
                  latency: 30s
        """)
    )
    code = run(["check", "playbook.yaml", "--output", "json"], runtime)
    assert isinstance(runtime.stdout, io.StringIO)
    assert code == ExitCode.OK, runtime.stdout.getvalue() + runtime.stderr.getvalue()  # type: ignore[attr-defined]
    report = json.loads(runtime.stdout.getvalue())
    (step,) = [s for p in report["phases"] for s in p["steps"]]
    (item,) = step["checklistItems"]
    assert item["passed"] is True
    assert item["name"] == "classifier-answers"


def test_the_step_form_waits_and_reports_progress(
    served: ServedModels, runtime: Runtime, tmp_path: Path
) -> None:
    spec = StepSpec(
        "inference", "absent-answers", classifier_body(served, model="absent"), Position("p.yaml", 1, 1)
    )
    progress: list[str] = []
    ctx = dataclasses.replace(context(runtime, timeout=6.0), progress=progress.append)
    result = STEP_KIND.build(spec).run(ctx)
    assert result.status is StepStatus.FAILED
    assert result.details["attempts"] == len(progress)  # every failed attempt was shown while it ran
    assert len(progress) >= 3
    assert "still failing after" in result.message
    assert all("waiting: model not ready" in line for line in progress)
