"""The report.json a real run writes into its run directory validates against docs/report.schema.json: a
passing drill, and a failing one whose `finally:` step failed too."""

from __future__ import annotations

import json

import jsonschema
import pytest
from engine_kinds import run
from helpers import REPO_ROOT, WritePlaybook

from drkit.context import Runtime
from drkit.report.model import Outcome

SCHEMA = json.loads((REPO_ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {{name: schema-check}}
rto: 10s
vars: {{ns: ml, api_token: s3cr3t-value}}
phases:
  - name: rebuild
    budget: 5s
    steps:
      - name: apply
        script: {{outcomes: [{phase}], takes: 2s}}
      - name: after
        script: {{}}
finally:
  - name: scale-up
    script: {{outcomes: [{final}]}}
"""


@pytest.mark.parametrize(
    ("phase", "final", "outcome"), [("ok", "ok", Outcome.SUCCEEDED), ("fail", "fail", Outcome.FAILED)]
)
def test_a_run_directory_report_validates(
    write_playbook: WritePlaybook, runtime: Runtime, phase: str, final: str, outcome: Outcome
) -> None:
    report = run(write_playbook(PLAYBOOK.format(phase=phase, final=final)), runtime)

    saved = json.loads((runtime.state_dir / "runs" / str(report.run_id) / "report.json").read_text())
    assert saved["outcome"] == str(outcome)
    assert [s["status"] for s in saved["finally"]] == ["succeeded" if final == "ok" else "failed"]
    errors = [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(saved)]
    assert errors == []
