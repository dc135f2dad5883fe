"""The `podLogs` item's settings and verdicts (the cluster side runs end to end in tests/e2e/test_pod_logs.py
and tests/lab): what a body must say, what passes, what a failure tells, and that a credential in a log line
does not reach the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cluster_support import running_server
from steps_support import ITEM_BODY_LINE, load_problem, playbook_in, pointed_at

from drkit.secret_registry import SecretRegistry
from drkit.steps.base import StepStatus
from drkit.steps.pod_logs import PROBE_KIND, judge_log, parse_settings, report
from drkit.steps.settings import StepConfigError

BASE: dict[str, Any] = {
    "namespace": "financial-inference",
    "selector": {"app": "mlserver"},
    "container": "mlserver",
}
LOG = (
    "2026-12-01 10:00:00,001 [mlserver] INFO - HTTP server running on http://10.244.0.9:9000\n"
    "2026-12-01 10:00:03,417 [mlserver][baseline-predictor] INFO - Loaded model 'baseline-predictor' "
    "successfully.\n"
    "2026-12-01 10:00:04,002 [mlserver] INFO - GET /v2/health/live 200\n"
)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({**BASE, "contains": ["x"], "selector": ""}, "exactly one of `selector`"),
        ({**BASE, "matches": ["Loaded model ('"]}, "matches"),
    ],
)
def test_a_body_it_cannot_use_is_refused_naming_why(body: dict[str, Any], problem: str) -> None:
    with pytest.raises(StepConfigError, match=problem.replace("(", r"\(")):
        parse_settings(body)


@pytest.mark.parametrize(
    ("body", "message", "at"),
    [
        (
            "{selector: {app: m}, name: m-0, container: c, contains: [x]}",
            "'name' cannot be combined with 'selector'",
            "name:",
        ),
        ("{namespace: n, container: c, contains: [x]}", "needs one of: selector, name", "{namespace"),
        ("{name: m-0, container: c, contains: [x], tailLines: 0}", "'tailLines'", "0}"),
        ("{name: m-0, contains: [x]}", "missing required key 'container'", "{name"),
        ("{name: m-0, container: c}", "needs at least one of: contains, matches, absent", "{name"),
    ],
)
def test_the_loader_refuses_what_the_schema_says_at_its_position(body: str, message: str, at: str) -> None:
    problem = load_problem("podLogs", body, item=True)
    assert problem.position.line == ITEM_BODY_LINE
    assert message in problem.message
    assert pointed_at(problem).startswith(at)


def test_contains_and_matches_pass_on_a_log_that_has_them() -> None:
    settings = parse_settings(
        {**BASE, "contains": ["Loaded model 'baseline-predictor' successfully"], "matches": [r"^.*200$"]}
    )
    verdict = judge_log(settings, "mlserver-0", LOG)
    assert verdict.passed
    result = report(settings, [verdict])
    assert result.status is StepStatus.SUCCEEDED
    assert "container mlserver" in result.message


def test_a_failure_names_pod_container_what_is_missing_and_the_last_lines() -> None:
    settings = parse_settings(
        {**BASE, "contains": ["Loaded model 'enhanced-predictor' successfully"], "matches": ["^Traceback"]}
    )
    verdict = judge_log(settings, "mlserver-0", LOG)
    assert not verdict.passed
    result = report(settings, [verdict])
    assert result.status is StepStatus.FAILED
    assert "pod mlserver-0 container mlserver" in result.message
    assert "missing \"Loaded model 'enhanced-predictor' successfully\", /^Traceback/" in result.message
    assert "GET /v2/health/live 200" in result.message  # the last line is shown
    assert result.details["pods"] == [  # type: ignore[index]
        {
            "pod": "mlserver-0",
            "passed": False,
            "missing": ["\"Loaded model 'enhanced-predictor' successfully\"", "/^Traceback/"],
            "unwanted": [],
        }
    ]


def test_an_absent_text_that_is_there_fails_showing_its_line_with_credentials_redacted() -> None:
    leaked = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl"
    log = f"ERROR rclone: 401 with header Authorization: Bearer {leaked}\n" + LOG * 3
    settings = parse_settings({**BASE, "absent": ["ERROR rclone"]})
    result = report(settings, [judge_log(settings, "mlserver-0", log)])
    assert result.status is StepStatus.FAILED
    assert "has 'ERROR rclone'" in result.message
    assert "ERROR rclone: 401" in result.message  # the offending line, though not among the last
    assert leaked not in result.message
    assert "<redacted>" in result.message


def test_an_empty_log_says_so() -> None:
    settings = parse_settings({**BASE, "name": "mlserver-0", "selector": None, "contains": ["Loaded"]})
    empty = report(settings, [judge_log(settings, "mlserver-0", "")])
    assert "(the log is empty)" in empty.message
    assert settings.pod_name == "mlserver-0"


def test_the_item_describes_what_it_reads(tmp_path: Path) -> None:
    probe = PROBE_KIND.build(
        "loaded",
        {**BASE, "contains": ["Loaded model"], "previous": True, "tailLines": 50},
        playbook_in(tmp_path),
    )
    text = probe.describe()
    assert text.startswith("previous log of container mlserver of pods with labels app=mlserver")
    assert "'Loaded model'" in text


def test_known_secrets_in_the_shown_lines_are_masked_before_a_line_is_cut() -> None:
    settings = parse_settings({**BASE, "contains": ["ok"]})
    secret = "known-secret-value-81f2"  # straddles the 240-character cut
    line = "word " * 46 + secret + " tail"
    registry = SecretRegistry([secret])

    verdict = judge_log(settings, "pod-0", line, registry.mask)

    assert verdict.last_lines == ("word " * 46 + "**** tail",)
    assert "known" not in verdict.last_lines[0]


def test_a_log_that_could_hold_an_unreadable_secret_is_judged_but_none_of_its_lines_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = "Traceback: connecting with password pw-unreadable-77"
    with running_server(tmp_path, crds=()) as server:
        server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "financial-inference"}})
        env = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "deleted-creds", "key": "pw"}}}]
        server.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "mlserver-0",
                    "namespace": "financial-inference",
                    "labels": {"app": "mlserver"},
                },
                "spec": {"containers": [{"name": "mlserver", "image": "m", "env": env}]},
            }
        )
        # No kubelet in this lab: what the container printed is put where the kubelet's answer would be.
        monkeypatch.setattr(server.cluster, "_log_text", lambda *_: f"{printed}\nshutting down\n")
        probe = PROBE_KIND.build("no-traceback", {**BASE, "absent": ["Traceback"]}, playbook_in(tmp_path))

        result = probe.attempt(server.context())

    assert result.status is StepStatus.FAILED
    assert "has 'Traceback'" in result.message  # judged on the whole log all the same
    assert "not shown" in result.message
    assert "Secret deleted-creds" in result.message
    assert "pw-unreadable-77" not in result.message
    assert "shutting down" not in result.message
