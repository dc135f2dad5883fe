"""The `command` step: exit status, output tail, timeouts that kill the whole process group."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest
from steps_support import BODY_LINE, context, load_problem, pointed_at, spec

from drkit.context import Runtime
from drkit.errors import AdapterError
from drkit.steps import command
from drkit.steps.base import StepStatus
from drkit.steps.settings import StepConfigError


@pytest.fixture
def real_time(runtime: Runtime) -> Runtime:
    """Timeouts of real programs need the real clock."""
    return dataclasses.replace(runtime, monotonic=time.monotonic, sleep=time.sleep)


def run_step(body: object, runtime: Runtime, timeout: float | None = None, progress: list[str] | None = None):  # type: ignore[no-untyped-def]
    step = command.STEP_KIND.build(spec("command", body))
    return step.run(context(runtime, timeout=timeout, progress=progress))


def test_exit_status_decides(runtime: Runtime) -> None:
    assert run_step({"run": "exit 0"}, runtime).status is StepStatus.SUCCEEDED
    failed = run_step({"run": "echo oops >&2; exit 3"}, runtime)
    assert failed.status is StepStatus.FAILED
    assert "exited with 3 (expected 0): oops" in failed.message
    assert failed.details["exitCode"] == 3
    assert run_step({"run": "exit 3", "expectExit": 3}, runtime).status is StepStatus.SUCCEEDED


def test_output_tail_keeps_the_last_lines_and_progress_streams(runtime: Runtime) -> None:
    progress: list[str] = []
    result = run_step({"run": "for i in $(seq 1 100); do echo line $i; done"}, runtime, progress=progress)
    tail = result.details["outputTail"]
    assert isinstance(tail, list)
    assert len(tail) == 40
    assert tail[0] == "line 61"
    assert tail[-1] == "line 100"
    assert progress[-1] == "line 100"


def test_success_pattern_must_match(runtime: Runtime) -> None:
    assert (
        run_step({"run": "echo ready=1", "successPattern": r"ready=\d"}, runtime).status
        is StepStatus.SUCCEEDED
    )
    result = run_step({"run": "echo not yet", "successPattern": "ready"}, runtime)
    assert result.status is StepStatus.FAILED
    assert "does not match /ready/" in result.message


def test_argv_list_is_executed_without_a_shell(runtime: Runtime) -> None:
    result = run_step({"run": ["echo", "$HOME; exit 1"]}, runtime)
    assert result.status is StepStatus.SUCCEEDED
    assert result.details["outputTail"] == ["$HOME; exit 1"]


def test_cwd_is_relative_to_the_playbook_and_env_is_passed(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    result = run_step({"run": "pwd; echo $GREETING", "cwd": "sub", "env": {"GREETING": "hi"}}, runtime)
    assert result.details["outputTail"] == [str(tmp_path / "sub"), "hi"]


def test_timeout_kills_the_process_group(real_time: Runtime, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    result = run_step({"run": f"sleep 30 & echo $! > {pid_file}; wait"}, real_time, timeout=0.5)
    assert time.monotonic() - started < 20
    assert result.status is StepStatus.FAILED
    assert result.details["timedOut"] is True
    assert "did not finish within 0.5s" in result.message
    assert _gone(int(pid_file.read_text()))


def _gone(pid: int) -> bool:
    """Dead, or a zombie nobody reaped yet (orphans of a killed shell are reparented, e.g. to a container's
    init)."""
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def test_a_missing_program_is_a_failure_not_a_crash(runtime: Runtime) -> None:
    with pytest.raises(AdapterError) as caught:
        run_step({"run": ["/nonexistent/tool"]}, runtime)
    assert "/nonexistent/tool" in caught.value.message


def test_plan_describes_without_running(runtime: Runtime, tmp_path: Path) -> None:
    step = command.STEP_KIND.build(spec("command", {"run": "touch x", "destructive": True}))
    plan = step.plan(context(runtime))
    assert plan.summary == f"would run `touch x` in {tmp_path}"
    assert plan.destructive
    assert not (tmp_path / "x").exists()


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(StepConfigError, match="not a valid regular expression"):
        command.parse_settings({"run": "true", "successPattern": "("})
    with pytest.raises(StepConfigError, match="`run` is empty"):
        command.parse_settings({"run": "  "})


def test_an_exit_status_out_of_range_is_refused_by_the_loader_at_its_position() -> None:
    problem = load_problem("command", "{run: 'true', expectExit: 256}")
    assert problem.position.line == BODY_LINE
    assert "'expectExit'" in problem.message
    assert "must be at most 255" in problem.message
    assert pointed_at(problem) == "256}"


def test_an_exit_status_from_a_variable_is_range_checked_by_the_loader_after_substitution() -> None:
    problem = load_problem("command", "{run: 'true', expectExit: '${code}'}", variables="{code: 300}")
    assert problem.position.line == BODY_LINE
    assert "'expectExit'" in problem.message
    assert "must be at most 255, got 300" in problem.message
    assert pointed_at(problem).startswith("'${code}'")


def test_probe_passes_on_the_expected_exit(runtime: Runtime) -> None:
    probe = command.PROBE_KIND.build("p", {"run": "exit 1", "expectExit": 1}, context(runtime).playbook)
    assert probe.attempt(context(runtime)).status is StepStatus.SUCCEEDED
    assert probe.describe() == "`exit 1` exits with 1"


def test_a_secret_the_program_prints_but_drkit_never_read_is_redacted_in_the_tail_and_progress(
    runtime: Runtime,
) -> None:
    # What `kubectl get secret -o yaml` and a careless script print: values drkit has no registry entry for.
    blob = "dG9rLXByaW50ZWQtYnktdGhlLXdvcmtsb2FkLTc3Nzc3Nzc3"
    script = f"echo 'data:'; echo '  token: {blob}'; echo 'password=pw-99x'"
    progress: list[str] = []

    result = run_step({"run": script}, runtime, progress=progress)

    tail = result.details["outputTail"]
    assert isinstance(tail, list)
    recorded = "\n".join([*tail, *progress])
    assert blob not in recorded
    assert "pw-99x" not in recorded
    assert tail == ["data:", "  token: <redacted>", "password=<redacted>"]
