"""The runner's pure parts: TLS material, kubeconfig, lab.json bookkeeping, port checks, MLflow detection."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from ruamel.yaml import YAML

from drkit_lab.errors import EXIT_USAGE, LabUsageError
from drkit_lab.kubeconfig import CONTEXT_NAME, render_kubeconfig, write_kubeconfig
from drkit_lab.launcher import _LogRelay, check_port_free, parse_error_codes, refuse_if_running
from drkit_lab.mlflow_server import MlflowNotInstalled, mlflow_server_available, require_mlflow
from drkit_lab.state import LabInfo, StateDir, read_credentials, read_lab_info, write_lab_info
from drkit_lab.tls import ensure_tls


def test_tls_serving_cert_verifies_against_the_ca_for_127_0_0_1(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path)
    assert files.ca_cert == tmp_path / "ca.crt"
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)

    # A real TLS handshake: a server with the cert, a client that trusts only the CA and checks the host name.
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files.server_cert, files.server_key)

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Hello)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.handle_request)
    thread.start()
    try:
        client_ctx = ssl.create_default_context(cafile=str(files.ca_cert))
        port = httpd.server_address[1]
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert b"200" in tls.recv(100)
    finally:
        thread.join(5)
        httpd.server_close()


def test_tls_material_is_reused_so_existing_kubeconfigs_keep_working(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path).ca_cert.read_bytes()
    assert ensure_tls(tmp_path).ca_cert.read_bytes() == first


def test_kubeconfig_round_trips_through_read_credentials(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    files = ensure_tls(tmp_path)
    text = render_kubeconfig(server="https://127.0.0.1:6443", ca_pem=files.ca_cert.read_bytes(), token="t0k")
    write_kubeconfig(state.kubeconfig, text)
    assert stat.S_IMODE(state.kubeconfig.stat().st_mode) == 0o600
    doc = YAML(typ="safe").load(text)
    assert doc["current-context"] == CONTEXT_NAME
    creds = read_credentials(state)
    assert (creds.server, creds.token, creds.ca_file) == ("https://127.0.0.1:6443", "t0k", state.ca_cert)


def test_insecure_kubeconfig_has_no_ca(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    write_kubeconfig(state.kubeconfig, render_kubeconfig(server="http://127.0.0.1:1", ca_pem=None, token="x"))
    assert read_credentials(state).ca_file is None


def _info(pid: int, tmp_path: Path) -> LabInfo:
    return LabInfo(pid, "https://127.0.0.1:1", 1, None, None, str(tmp_path / "kubeconfig"), 0.0)


def test_lab_json_of_a_live_process_means_running_and_blocks_a_second_lab(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    write_lab_info(state, _info(os.getpid(), tmp_path))
    assert read_lab_info(state) == _info(os.getpid(), tmp_path)
    with pytest.raises(LabUsageError) as caught:
        refuse_if_running(state)
    assert f"a lab is already running from {tmp_path} (pid {os.getpid()})" in str(caught.value)
    assert f"`drkit lab down --dir {tmp_path}` first" in str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE


def test_stale_lab_json_of_a_dead_process_is_cleaned(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(done.stdout)
    state = StateDir(tmp_path)
    write_lab_info(state, _info(dead_pid, tmp_path))
    assert read_lab_info(state) is None
    assert not state.lab_json.exists()
    refuse_if_running(state)  # no error


def test_port_taken_is_a_usage_error_naming_the_way_out() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LabUsageError) as caught:
            check_port_free("127.0.0.1", port)
    assert str(caught.value) == f"port {port} is in use by another program; pass --port 0 for a free one"
    check_port_free("127.0.0.1", 0)


@pytest.mark.parametrize("text", ["500,x", "", "200", "700"])
def test_bad_error_codes_are_refused(text: str) -> None:
    with pytest.raises(LabUsageError):
        parse_error_codes(text)


def test_error_codes_parse() -> None:
    assert parse_error_codes("500, 503,429") == (500, 503, 429)


def test_mlflow_detection_uses_the_given_interpreter(tmp_path: Path) -> None:
    assert mlflow_server_available(sys.executable)
    # A bare interpreter without site-packages (-I -S equivalents through a wrapper script) has no MLflow.
    bare = tmp_path / "python-without-mlflow"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    bare.chmod(0o755)
    assert not mlflow_server_available(str(bare))
    with pytest.raises(MlflowNotInstalled) as caught:
        require_mlflow(str(bare))
    assert "pip install 'drkit[lab]'" in str(caught.value)
    assert "drkit lab up --no-mlflow" in str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE


def test_log_relay_forwards_progress_and_keeps_the_last_error_with_its_hint(tmp_path: Path) -> None:
    log = tmp_path / "lab.log"
    log.write_text("old line\n[lab] error: old failure\n")
    offset = log.stat().st_size
    seen: list[str] = []
    relay = _LogRelay(log, offset, seen.append)
    with log.open("a") as handle:
        handle.write(
            "[lab] starting MLflow\nINFO noise\n"
            "[lab] error: port 1 is in use\n  hint: pass --port 0\n[lab] par"
        )
    relay.pump()
    assert seen == ["starting MLflow"]
    assert relay.last_error == "port 1 is in use\n  hint: pass --port 0"
