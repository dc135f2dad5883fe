"""Every exit code drkit promises, pinned through the real CLI boundary (drkit.errors.ExitCode)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT, FakeClock, WritePlaybook, run_drkit, start_drkit

from drkit import engine
from drkit.cli import main
from drkit.engine.journal import read_journal
from drkit.errors import ExitCode, Terminated
from drkit.steps.command import CommandStep

PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: codes}
rto: 1h
phases:
  - name: teardown
    drillOnly: true
    steps:
      - command: {run: "true"}
  - name: rebuild
    steps:
      - name: work
        command: {run: "${cmd}"}
vars: {cmd: "true"}
"""


def test_0_success(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("drill", "playbook.yaml", "--yes", cwd=tmp_path)
    assert result.exit_code == ExitCode.OK == 0, result.stderr
    assert "✔ rebuild/work" in result.stdout


def test_1_a_failing_command_step(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("drill", "playbook.yaml", "--yes", "--set", "cmd=exit 7", cwd=tmp_path)
    assert result.exit_code == ExitCode.DRILL_FAILED == 1
    assert "exited with 7" in result.stdout


def test_2_a_bad_playbook(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK.replace("drillOnly: true", "drilOnly: true"))
    result = run_drkit("drill", "playbook.yaml", "--yes", cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE == 2
    assert "playbook.yaml:7:5" in result.stderr
    assert "drilOnly" in result.stderr
    assert not (tmp_path / ".drkit").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("drill",),  # missing argument
        ("drill", "playbook.yaml", "--bogus"),
        ("drill", "playbook.yaml", "--set", "novalue"),
        ("drill", "playbook.yaml", "--from-phase", "rebiuld"),
        ("resume", "20990101-000000-abcd"),
        ("nonsense",),
    ],
)
def test_2_bad_usage(write_playbook: WritePlaybook, tmp_path: Path, args: tuple[str, ...]) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit(*args, cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert result.stderr.strip()


def _kubeconfig(path: Path, server: str, contexts: tuple[str, ...] = ("drkit-lab", "staging")) -> Path:
    """A kubeconfig whose contexts all point at `server` (current: the first)."""
    names = ", ".join(f"{{name: {c}, context: {{cluster: c, user: u}}}}" for c in contexts)
    path.write_text(
        f"apiVersion: v1\nkind: Config\ncurrent-context: {contexts[0]}\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}', insecure-skip-tls-verify: true}}}}]\n"
        f"users: [{{name: u, user: {{token: t0ken}}}}]\ncontexts: [{names}]\n",
        encoding="utf-8",
    )
    return path


def _closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLUSTER_PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: cluster-codes}
target: {contexts: [drkit-lab, staging]}
phases:
  - name: rebuild
    steps:
      - name: namespace
        apply: {files: [ns.yaml]}
"""


def _cluster_playbook(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(CLUSTER_PLAYBOOK)
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: codes}\n")


def test_2_an_unknown_context_names_the_kubeconfig_and_suggests_the_near_one(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    _cluster_playbook(write_playbook, tmp_path)
    config = _kubeconfig(tmp_path / "kc.yaml", f"https://127.0.0.1:{_closed_port()}")
    result = run_drkit(
        "recover", "playbook.yaml", "--kubeconfig", str(config), "--context", "stagin", cwd=tmp_path
    )
    assert result.exit_code == ExitCode.USAGE == 2, result.stderr
    assert f"context 'stagin' is not defined in kubeconfig {config}" in result.stderr
    assert "did you mean 'staging'? (its contexts: drkit-lab, staging)" in result.stderr


@pytest.mark.parametrize(
    ("kubeconfig", "expected"),
    [
        ("missing.yaml", "kubeconfig missing.yaml (--kubeconfig) does not exist"),
        ("broken.yaml", "cannot read kubeconfig {cwd}/broken.yaml"),
        (".", "kubeconfig . (--kubeconfig) is not a file"),
    ],
)
def test_2_a_missing_or_unreadable_kubeconfig(
    write_playbook: WritePlaybook, tmp_path: Path, kubeconfig: str, expected: str
) -> None:
    _cluster_playbook(write_playbook, tmp_path)
    (tmp_path / "broken.yaml").write_text("clusters: [unclosed", encoding="utf-8")
    result = run_drkit("recover", "playbook.yaml", "--kubeconfig", kubeconfig, cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert expected.format(cwd=tmp_path) in result.stderr


def test_5_an_unreachable_api_server_before_any_step(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    _cluster_playbook(write_playbook, tmp_path)
    port = _closed_port()
    config = _kubeconfig(tmp_path / "kc.yaml", f"https://127.0.0.1:{port}")
    result = run_drkit("recover", "playbook.yaml", "--kubeconfig", str(config), cwd=tmp_path)
    assert result.exit_code == ExitCode.UNREACHABLE == 5, result.stderr
    assert f"cannot reach the API server of context drkit-lab at https://127.0.0.1:{port}" in result.stderr
    assert "(no step ran; nothing was changed)" in result.stderr


MLFLOW_PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: mlflow-codes}
phases:
  - name: deploy
    steps:
      - name: model-uris
        modelUris: {mlflow: {url: "${mlflow_url}"}, files: [model.yaml]}
vars: {mlflow_url: "http://127.0.0.1:1"}
"""
MODEL = """
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: baseline-predictor
  namespace: financial-inference
  annotations:
    drkit.io/mlflow-experiment: financial-mlops
    drkit.io/mlflow-filter: "params.model_variant = 'baseline'"
spec: {storageUri: "s3://mlflow-artifacts/0/models/m-0/artifacts", server: mlserver}
"""


def test_5_mlflow_down_before_any_step_says_why_also_as_json(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(MLFLOW_PLAYBOOK)
    (tmp_path / "model.yaml").write_text(MODEL, encoding="utf-8")
    url = f"http://127.0.0.1:{_closed_port()}"
    result = run_drkit("recover", "playbook.yaml", "--set", f"mlflow_url={url}", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.UNREACHABLE, result.stderr
    error = result.json["error"]
    assert (error["exitCode"], error["kind"]) == (5, "unreachable")
    assert error["message"].startswith(f"cannot plan step deploy/model-uris: MLflow GET {url}/")
    assert error["message"].endswith("cannot connect (connection refused) (no step ran; nothing was changed)")
    assert error["hint"] == "is the tracking server running and is the URL right (port-forward, ingress)?"
    assert f"error: {error['message']}" in result.stderr  # the human text is still on stderr


def test_1_a_service_unreachable_after_steps_began(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(
        PLAYBOOK.replace(
            'command: {run: "${cmd}"}',
            f"http: {{url: 'http://127.0.0.1:{_closed_port()}/', interval: 200ms}}\n        timeout: 1s",
        )
    )
    result = run_drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.DRILL_FAILED, result.stderr
    assert result.json["outcome"] == "failed"
    assert "connection failed" in result.json["phases"][1]["steps"][0]["message"]


def test_3_drill_only_phase_without_yes_and_no_terminal(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("drill", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == ExitCode.REFUSED == 3
    assert "needs confirmation" in result.stderr
    assert "--yes" in result.stderr
    assert not (tmp_path / ".drkit").exists()


def test_4_over_rto(write_playbook: WritePlaybook, tmp_path: Path, clock: FakeClock) -> None:
    # The rebuild passes on its checklist's second round: one round interval of the fake clock, over the RTO.
    second_look = (
        "check: second-look\n"
        "checklists:\n"
        "  second-look:\n"
        "    - name: seen-before\n"
        "      command: {run: 'test -f seen || { touch seen; exit 1; }'}"
    )
    write_playbook(PLAYBOOK.replace("rto: 1h", "rto: 200ms").replace('command: {run: "${cmd}"}', second_look))
    result = run_drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path, clock=clock)
    assert result.exit_code == ExitCode.OVER_RTO == 4, result.stderr
    assert result.json["outcome"] == "over-rto"
    assert result.json["rtoMeasured"] == pytest.approx(sum(clock.sleeps))  # the fake time, nothing real


def test_70_internal_error_without_and_with_debug(
    write_playbook: WritePlaybook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: CommandStep, ctx: object) -> object:
        raise RuntimeError("a bug in a step")

    monkeypatch.setattr(CommandStep, "run", broken)
    write_playbook(PLAYBOOK)
    quiet = run_drkit("recover", "playbook.yaml", cwd=tmp_path)
    assert quiet.exit_code == ExitCode.INTERNAL == 70
    assert "internal error" in quiet.stderr
    assert "--debug" in quiet.stderr
    assert "Traceback" not in quiet.stderr
    loud = run_drkit("--debug", "recover", "playbook.yaml", cwd=tmp_path)
    assert loud.exit_code == 70
    assert "Traceback" in loud.stderr
    assert "a bug in a step" in loud.stderr


def _wait_until_step_started(process: subprocess.Popen[str], root: Path, step: str) -> Path:
    """The journal of the one run under `root` once it records `step-started` for `step` (polled: the
    journal is flushed event by event)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = list((root / ".drkit" / "runs").glob("*/journal.jsonl"))
        if runs and any(e.get("name") == step for e in read_journal(runs[0]) if e["event"] == "step-started"):
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"step {step} did not start within 30 s")


def test_130_sigint_during_a_step_then_resume(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    work = "cmd=if [ -f go-on ]; then echo done > done.txt; else sleep 30; fi"
    process = start_drkit("drill", "playbook.yaml", "--yes", "--set", work, cwd=tmp_path)
    journal = _wait_until_step_started(process, tmp_path, "work")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED == 130
    assert "drkit resume" in err
    assert f"drkit resume {journal.parent.name}" in err
    last = read_journal(journal)[-1]
    assert (last["event"], last["phase"], last["step"]) == ("interrupted", "rebuild", "work")
    report = json.loads((journal.parent / "report.json").read_text())
    assert report["outcome"] == "interrupted"
    assert report["message"] == "interrupted during step rebuild/work"
    assert report["phases"][1]["steps"][0]["message"] == "interrupted (Ctrl-C)"

    (tmp_path / "go-on").write_text("")
    resumed = start_drkit("resume", journal.parent.name, "--yes", "-o", "json", cwd=tmp_path)
    out, err = resumed.communicate(timeout=30)
    assert resumed.returncode == ExitCode.OK, err
    assert [s["label"] for p in json.loads(out)["phases"] for s in p["steps"]] == [
        "succeeded (previous attempt)",
        "succeeded",
    ]
    assert (tmp_path / "done.txt").read_text() == "done\n"


def _written(path: Path) -> str:
    """The first line of `path` once a program has written it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"nothing wrote {path} within 30 s")


def _gone(pid: int) -> bool:
    """Whether the process has exited (a zombie waiting for init to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_143_sigterm_during_a_step_stops_its_children_writes_reports_then_resume(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    # The step's shell starts a grandchild and waits for it: SIGTERM must stop the whole process group.
    work = "cmd=if [ -f go-on ]; then echo done > done.txt; else sleep 60 & echo $! > sleep.pid; wait; fi"
    process = start_drkit("drill", "playbook.yaml", "--yes", "--set", work, "-o", "json", cwd=tmp_path)
    journal = _wait_until_step_started(process, tmp_path, "work")
    sleep_pid = int(_written(tmp_path / "sleep.pid"))
    assert not _gone(sleep_pid)

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == ExitCode.TERMINATED == 143, err
    run_id = journal.parent.name
    assert f"run {run_id} interrupted by SIGTERM during step rebuild/work" in err
    assert f"drkit resume {run_id}" in err
    assert _gone(sleep_pid)
    assert json.loads(out)["outcome"] == "interrupted"  # the report, and no error object after it
    last = read_journal(journal)[-1]
    assert (last["event"], last["phase"], last["step"], last["signal"]) == (
        "interrupted",
        "rebuild",
        "work",
        "SIGTERM",
    )
    report = json.loads((journal.parent / "report.json").read_text())
    assert report["outcome"] == "interrupted"
    assert report["message"] == "interrupted by SIGTERM during step rebuild/work"
    assert report["phases"][1]["steps"][0]["message"] == "interrupted (SIGTERM)"
    assert (journal.parent / "report.md").is_file()
    # The record says how the run ended: `runs show` exits as the run did (143), not as a Ctrl-C (130).
    shown = run_drkit("runs", "show", run_id, cwd=tmp_path)
    assert shown.exit_code == ExitCode.TERMINATED, shown.stdout + shown.stderr

    (tmp_path / "go-on").write_text("")
    resumed = start_drkit("resume", run_id, "--yes", "-o", "json", cwd=tmp_path)
    out, err = resumed.communicate(timeout=30)
    assert resumed.returncode == ExitCode.OK, err
    assert json.loads(out)["outcome"] == "succeeded"
    assert (tmp_path / "done.txt").read_text() == "done\n"


def test_143_sigterm_runs_the_finally_steps_and_a_failing_one_keeps_the_code(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    finally_steps = """
finally:
  - name: restore
    command: {run: "echo restored > restored.txt"}
  - name: notify
    command: {run: "false"}
"""
    write_playbook(PLAYBOOK + finally_steps)
    process = start_drkit("drill", "playbook.yaml", "--yes", "--set", "cmd=sleep 60", cwd=tmp_path)
    journal = _wait_until_step_started(process, tmp_path, "work")

    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)

    assert process.returncode == ExitCode.TERMINATED, err
    assert (tmp_path / "restored.txt").read_text() == "restored\n"
    report = json.loads((journal.parent / "report.json").read_text())
    assert [s["status"] for s in report["finally"]] == ["succeeded", "failed"]
    assert report["message"].startswith(
        "interrupted by SIGTERM during step rebuild/work; finally step failed"
    )


def test_143_sigterm_outside_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def terminated(*args: object) -> object:
        raise Terminated("SIGTERM")  # what drkit's SIGTERM handler raises, here while a playbook loads

    monkeypatch.setattr(engine, "validate", terminated)
    result = run_drkit("validate", "playbook.yaml", cwd=tmp_path)
    assert result.exit_code == ExitCode.TERMINATED
    assert result.stderr.strip() == "terminated (SIGTERM)"


def test_2_a_bad_playbook_with_json_output_is_a_json_error_with_its_problems(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK.replace("drillOnly: true", "drilOnly: true"))
    result = run_drkit("recover", "playbook.yaml", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE
    error = result.json["error"]
    assert (error["exitCode"], error["kind"]) == (2, "usage")
    assert [(p["file"], p["line"], p["column"]) for p in error["problems"]] == [
        (str(tmp_path / "playbook.yaml"), 7, 5)
    ]
    assert "drilOnly" in error["problems"][0]["message"]
    assert error["problems"][0]["hint"] == "did you mean 'drillOnly'?"


@pytest.mark.parametrize(
    "line",
    [
        ("recover", "playbook.yaml", "-o", "json", "--no-such-option"),
        ("recover", "--output=json", "playbook.yaml", "--from-phase"),
        ("runs", "show", "-ojson"),
    ],
    ids=["unknown-option", "option-without-its-value", "missing-argument"],
)
def test_2_a_command_line_click_refuses_is_a_json_error_when_json_was_asked_for(
    write_playbook: WritePlaybook, tmp_path: Path, line: tuple[str, ...]
) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit(*line, cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE, result.stderr
    error = result.json["error"]
    assert (error["exitCode"], error["kind"]) == (2, "usage")
    assert error["message"]
    assert error["message"] in result.stderr  # click's own words, on both


def test_a_command_line_click_refuses_without_json_leaves_stdout_empty(
    write_playbook: WritePlaybook, tmp_path: Path
) -> None:
    write_playbook(PLAYBOOK)
    result = run_drkit("recover", "playbook.yaml", "--no-such-option", cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    assert "No such option '--no-such-option'" in result.stderr


def test_the_json_error_object_masks_secrets(write_playbook: WritePlaybook, tmp_path: Path) -> None:
    write_playbook(PLAYBOOK)
    secret = "pw-0f9e8d7c"
    env = {"MLFLOW_TRACKING_PASSWORD": secret}
    result = run_drkit(
        "recover", "playbook.yaml", "--from-phase", secret, "-o", "json", cwd=tmp_path, env=env
    )
    assert result.exit_code == ExitCode.USAGE
    assert result.json["error"]["message"] == "--from-phase '****': playbook 'codes' has no such phase"
    assert secret not in result.stdout + result.stderr


def test_the_readme_table_lists_exactly_the_exit_codes() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    codes = [
        int(line.split("|")[1]) for line in table.splitlines() if line.startswith("| ") and "code" not in line
    ]
    assert codes == sorted(int(code) for code in ExitCode)


def test_main_exits_with_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["validate", "missing.yaml"])
    assert caught.value.code == 2
