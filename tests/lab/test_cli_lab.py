"""`drkit lab ...` through the real CLI in subprocesses: up, status, env, fault, down, and its refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from lab_helpers import REPO_ROOT, SOURCE_ROOTS, run_lab_cli

from drkit_lab.cli import lab
from drkit_lab.errors import LabUsageError
from drkit_lab.state import StateDir, admin_request, pid_alive, read_lab_info

KUBECTL = Path(sys.executable).parent / "kubectl"


@pytest.fixture(scope="module")
def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One background lab (no MLflow) started by `drkit lab up`, stopped by `drkit lab down`."""
    lab_dir = tmp_path_factory.mktemp("cli-lab") / "lab"
    result = run_lab_cli("up", "--dir", str(lab_dir), "--port", "0", "--no-mlflow", "--workload-delay", "0.1")
    assert result.code == 0, result.stderr
    try:
        yield lab_dir
    finally:
        run_lab_cli("down", "--dir", str(lab_dir))


def test_up_prints_where_the_lab_is_and_how_to_use_it(running_lab: Path) -> None:
    state = StateDir(running_lab)
    info = read_lab_info(state)
    assert info is not None
    assert pid_alive(info.pid)
    assert info.api_url.startswith("https://127.0.0.1:")
    assert info.mlflow_url is None
    assert (running_lab / "ca.crt").is_file()
    assert (running_lab / "logs" / "lab.log").is_file()


def test_real_kubectl_reaches_the_lab_through_its_kubeconfig(running_lab: Path) -> None:
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(running_lab / "kubeconfig"), "get", "namespaces", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "namespace/kube-system" in done.stdout.split()


def test_status_json_reports_objects_controllers_and_faults(running_lab: Path) -> None:
    result = run_lab_cli("status", "--dir", str(running_lab), "-o", "json")
    assert result.code == 0, result.stderr
    doc = result.json()
    assert doc["running"] is True
    assert doc["objects"] >= 4  # default, kube-system, kube-public, kube-node-lease
    assert doc["controllers"]["seldon-scheduler"] == "up"
    assert doc["faults"]["latency_ms"] == 0
    text = run_lab_cli("status", "--dir", str(running_lab))
    assert "lab running (pid" in text.stdout
    assert "faults:      none" in text.stdout


def test_env_prints_export_lines(running_lab: Path) -> None:
    result = run_lab_cli("env", "--dir", str(running_lab))
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == f"export KUBECONFIG={running_lab.resolve() / 'kubeconfig'}"


def test_fault_changes_the_running_lab_and_clear_restores_it(running_lab: Path) -> None:
    result = run_lab_cli(
        "fault", "--dir", str(running_lab), "--latency-ms", "5", "--controller-down", "seldon-scheduler"
    )
    assert result.code == 0, result.stderr
    # Text for people, as `status` prints it: the faults that differ from a healthy lab, each controller.
    assert 'faults:      {"down_controllers": ["seldon-scheduler"], "latency_ms": 5.0}' in result.stdout
    assert "seldon-scheduler (down)" in result.stdout
    status = run_lab_cli("status", "--dir", str(running_lab), "-o", "json").json()
    assert status["faults"]["latency_ms"] == 5
    assert status["controllers"]["seldon-scheduler"] == "down"
    assert status["faults"]["down_controllers"] == ["seldon-scheduler"]

    cleared = run_lab_cli("fault", "--dir", str(running_lab), "--clear", "-o", "json")
    assert cleared.code == 0
    assert cleared.json()["controllers"]["seldon-scheduler"] == "up"  # -o json: the lab's own fields
    assert cleared.json()["faults"]["latency_ms"] == 0
    status = run_lab_cli("status", "--dir", str(running_lab), "-o", "json").json()
    assert status["faults"]["latency_ms"] == 0
    assert status["controllers"]["seldon-scheduler"] == "up"


def test_fault_refuses_an_unknown_controller_with_a_suggestion_changing_nothing(running_lab: Path) -> None:
    result = run_lab_cli(
        "fault", "--dir", str(running_lab), "--latency-ms", "7", "--controller-down", "seldon-schedular"
    )
    assert result.code == 2, result.stderr
    assert "the lab has no controller named 'seldon-schedular'; nothing was changed" in result.stderr
    assert "did you mean 'seldon-scheduler'? (controllers: " in result.stderr
    assert run_lab_cli("status", "--dir", str(running_lab), "-o", "json").json()["faults"]["latency_ms"] == 0
    as_json = run_lab_cli("fault", "--dir", str(running_lab), "--controller-up", "nope", "-o", "json")
    assert as_json.code == 2
    assert as_json.json()["error"]["kind"] == "usage"
    assert as_json.json()["error"]["message"] == "the lab has no controller named 'nope'; nothing was changed"


def test_the_lab_answers_an_unknown_controller_with_400_a_usage_error(running_lab: Path) -> None:
    """Past the CLI's own check (another client, or a controller gone since): the lab's 400 is a usage error
    too, and its message carries the suggestion."""
    with pytest.raises(LabUsageError) as caught:
        admin_request(StateDir(running_lab), "controllers", {"name": "seldon-schedular", "down": True})
    assert caught.value.exit_code == 2
    assert "no controller named 'seldon-schedular'; did you mean 'seldon-scheduler'?" in caught.value.message


def _complete(line: str) -> list[str]:
    """What `drkit` offers a bash user for the last word of `line` (click's completion protocol)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*SOURCE_ROOTS, env.get("PYTHONPATH", "")) if p)
    env.update(_DRKIT_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(line.split(" ")) - 1))
    done = subprocess.run(
        [sys.executable, "-m", "drkit"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return [item.split(",", 1)[1] for item in done.stdout.splitlines() if item.startswith("plain,")]


def test_fault_completes_the_running_labs_controller_names(running_lab: Path, tmp_path: Path) -> None:
    line = f"drkit lab fault --dir {running_lab} --controller-down "
    assert "seldon-scheduler" in _complete(line)
    assert _complete(line + "seldon") == ["seldon-scheduler"]
    assert _complete(f"drkit lab fault --dir {running_lab} --controller-up ") == []  # none is down
    down = run_lab_cli("fault", "--dir", str(running_lab), "--controller-down", "seldon-scheduler")
    assert down.code == 0, down.stderr
    try:
        assert _complete(f"drkit lab fault --dir {running_lab} --controller-up ") == ["seldon-scheduler"]
        assert "seldon-scheduler" not in _complete(line)
    finally:
        assert run_lab_cli("fault", "--dir", str(running_lab), "--clear").code == 0
    assert _complete(f"drkit lab fault --dir {tmp_path} --controller-down ") == []  # no lab there


def test_a_second_up_from_the_same_dir_is_refused(running_lab: Path) -> None:
    pid = read_lab_info(StateDir(running_lab))
    assert pid is not None
    result = run_lab_cli("up", "--dir", str(running_lab), "--port", "0", "--no-mlflow")
    assert result.code == 2
    assert f"a lab is already running from {running_lab.resolve()} (pid {pid.pid})" in result.stderr


def test_requests_are_logged_one_json_line_each(running_lab: Path) -> None:
    # A request of this test's own (not one an earlier test may have made): kubectl reads one namespace.
    done = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(running_lab / "kubeconfig"), "get", "namespace", "kube-public"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in (running_lab / "requests.jsonl").read_text().splitlines()]
    for entry in entries:
        assert {"method", "path", "status"} <= set(entry)
    mine = [e for e in entries if e["path"] == "/api/v1/namespaces/kube-public"]
    assert [(e["method"], e["status"]) for e in mine] == [("GET", 200)]


def test_up_on_a_taken_port_fails_before_starting(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_lab_cli("up", "--dir", str(tmp_path / "lab"), "--port", str(port), "--no-mlflow")
    assert result.code == 2
    assert f"port {port} is in use by another program; pass --port 0 for a free one" in result.stderr
    assert not (tmp_path / "lab" / "lab.json").exists()


def test_down_stops_the_process_and_status_then_says_not_running(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    assert run_lab_cli("up", "--dir", str(lab_dir), "--port", "0", "--no-mlflow").code == 0
    info = read_lab_info(StateDir(lab_dir))
    assert info is not None
    result = run_lab_cli("down", "--dir", str(lab_dir))
    assert result.code == 0, result.stderr
    assert f"lab stopped (pid {info.pid})" in result.stdout
    assert not pid_alive(info.pid)
    assert not (lab_dir / "lab.json").exists()
    status = run_lab_cli("status", "--dir", str(lab_dir), "-o", "json")
    assert status.code == 1
    assert status.json() == {"running": False, "dir": str(lab_dir.resolve())}
    assert "no lab is running" in run_lab_cli("down", "--dir", str(lab_dir)).stdout


def test_stale_lab_json_does_not_block_up(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    (lab_dir / "lab.json").write_text(
        json.dumps(
            {
                "pid": int(dead.stdout),
                "api_url": "https://127.0.0.1:1",
                "api_port": 1,
                "mlflow_url": None,
                "mlflow_port": None,
                "kubeconfig": "x",
                "started": 0,
            }
        )
    )
    assert run_lab_cli("up", "--dir", str(lab_dir), "--port", "0", "--no-mlflow").code == 0
    try:
        info = read_lab_info(StateDir(lab_dir))
        assert info is not None
        assert info.pid != int(dead.stdout)
    finally:
        assert run_lab_cli("down", "--dir", str(lab_dir)).code == 0


def test_seal_prints_a_sealed_secret_without_the_value(tmp_path: Path) -> None:
    result = run_lab_cli("seal", "-n", "ns1", "--name", "creds", "--from-literal", "password=hunter2-secret")
    assert result.code == 0, result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert "kind: SealedSecret" in result.stdout
    assert "password:" in result.stdout
    out = tmp_path / "sealed.yaml"
    assert (
        run_lab_cli("seal", "-n", "ns1", "--name", "creds", "--from-literal", "a=b", "--file", str(out)).code
        == 0
    )
    assert "namespace: ns1" in out.read_text()


def test_help_shows_each_summary_whole() -> None:
    result = CliRunner().invoke(lab, ["--help"], terminal_width=80)
    commands = " ".join(result.output.split("Commands:", 1)[1].split())
    assert (
        "env Print `export` lines for KUBECONFIG and MLFLOW_TRACKING_URI, and MLflow's credentials when it "
        'runs with basic auth (eval "$(drkit lab env)").'
    ) in commands
    assert "..." not in commands


def test_env_without_a_lab_is_a_usage_error(tmp_path: Path) -> None:
    result = run_lab_cli("env", "--dir", str(tmp_path))
    assert result.code == 2
    assert "no lab is running" in result.stderr
    assert os.listdir(tmp_path) == []


def test_foreground_runs_until_interrupted_then_cleans_up(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*SOURCE_ROOTS, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drkit_lab.cli",
            "up",
            "--dir",
            str(lab_dir),
            "--port",
            "0",
            "--no-mlflow",
            "--foreground",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            read_lab_info(StateDir(lab_dir)) is None and time.monotonic() < deadline and proc.poll() is None
        ):
            time.sleep(0.1)
        info = read_lab_info(StateDir(lab_dir))
        assert info is not None
        assert info.pid == proc.pid
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert "[lab] stopped" in output
    assert not (lab_dir / "lab.json").exists()


def test_a_runner_failure_after_spawn_is_reported_with_its_message(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    result = run_lab_cli(
        "up", "--dir", str(lab_dir), "--port", "0", "--no-mlflow", "--controller-down", "nope"
    )
    assert result.code == 2
    assert "the lab has no controller named 'nope'" in result.stderr
    assert "controllers: namespaces, workloads" in result.stderr  # the hint survived the trip through lab.log
    assert not (lab_dir / "lab.json").exists()
