"""DRKIT_E2E_KUBECONFIG points the end-to-end tests at a cluster they did not start.

No real cluster is reachable here, so the "real" cluster is a lab started outside the test session by
`drkit lab up` (nothing in the inner session knows it is a lab), and a subset of the e2e tests runs against it
in a pytest subprocess. That proves the switch end to end: the tests reach the external cluster (its request
log shows them), name their namespaces with a per-test prefix and delete them afterwards, and `lab_only`
tests are skipped with the reason, without starting a lab of their own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_cluster import ENV_CONTEXT, ENV_KUBECONFIG, LAB_CONTEXT, PREFIX_ROOT, external_cluster
from lab_helpers import REPO_ROOT, run_lab_cli

from drkit.kube import Cluster, ClusterConfig

pytestmark = pytest.mark.real_plane

RUNNABLE = [
    "tests/e2e/test_wait_and_checks.py::test_wait_for_a_slow_deployment_records_when_it_became_ready",
    "tests/e2e/test_wait_and_checks.py::test_wait_fails_on_a_failed_deployment_with_its_kstatus_message",
]
LAB_ONLY = [
    "tests/e2e/test_safety.py::test_a_drill_without_yes_and_no_terminal_is_refused_with_zero_writes",
    # needs the session's platform lab: skipped before that fixture would start one
    "tests/e2e/test_wait_and_checks.py::test_serving_checklist_passes_on_the_platform",
]


@pytest.fixture(scope="module")
def outside_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lab started by `drkit lab up` (a separate process), stopped by `drkit lab down`."""
    lab_dir = tmp_path_factory.mktemp("outside") / "lab"
    started = run_lab_cli(
        "up", "--dir", str(lab_dir), "--port", "0", "--no-mlflow", "--workload-delay", "0.2"
    )
    assert started.code == 0, started.stderr
    try:
        yield lab_dir
    finally:
        run_lab_cli("down", "--dir", str(lab_dir))


def _inner_pytest(tests: list[str], env: dict[str, str], basetemp: Path) -> subprocess.CompletedProcess[str]:
    # The outer session's pytest/xdist variables would confuse the inner one.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DRKIT_E2E_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "--basetemp",
            str(basetemp),
            *tests,
        ],
        cwd=REPO_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _requests(lab_dir: Path) -> list[dict[str, object]]:
    lines = (lab_dir / "requests.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.lab
def test_e2e_tests_run_against_an_external_cluster_and_skip_the_lab_only_ones(
    outside_lab: Path, tmp_path: Path
) -> None:
    kubeconfig = outside_lab / "kubeconfig"
    done = _inner_pytest(
        RUNNABLE + LAB_ONLY,
        {ENV_KUBECONFIG: str(kubeconfig), ENV_CONTEXT: LAB_CONTEXT},
        tmp_path / "inner",
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert re.search(r"\b2 passed, 2 skipped\b", output), output[-2000:]
    assert output.count("lab_only: needs the built-in lab") == 2, output[-2000:]

    # The runnable tests worked in the external cluster, each in its own prefixed namespace, deleted after.
    requests = _requests(outside_lab)
    touched = {
        m.group(1)
        for r in requests
        if (m := re.search(r"/namespaces/(e2e-[0-9a-f]{6}-apps)", str(r["path"])))
    }
    deleted = {str(r["path"]).rsplit("/", 1)[1] for r in requests if r["method"] == "DELETE"}
    assert len(touched) == 2, touched  # one prefix per test
    assert touched <= deleted
    with Cluster(ClusterConfig.from_env({}, kubeconfig=kubeconfig)) as cluster:
        deadline = time.monotonic() + 30
        while left := [
            n["metadata"]["name"]
            for n in cluster.list("v1", "Namespace")
            if n["metadata"]["name"].startswith(PREFIX_ROOT)
        ]:
            assert time.monotonic() < deadline, f"test namespaces left behind: {left}"
            time.sleep(0.1)  # the cluster's namespace controller finishes the deletion


def test_without_the_variable_the_tests_use_labs() -> None:
    assert external_cluster({}) is None
    assert external_cluster({ENV_KUBECONFIG: "  "}) is None


def test_the_context_defaults_to_the_kubeconfigs_current_context(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: staging\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts:\n  - {name: staging, context: {cluster: c, user: u}}\n"
        "  - {name: prod, context: {cluster: c, user: u}}\n",
        encoding="utf-8",
    )
    assert external_cluster({ENV_KUBECONFIG: str(kubeconfig)}).context == "staging"  # type: ignore[union-attr]
    chosen = external_cluster({ENV_KUBECONFIG: str(kubeconfig), ENV_CONTEXT: "prod"})
    assert chosen is not None
    assert chosen.context == "prod"
    with pytest.raises(pytest.UsageError, match="no-such"):
        external_cluster({ENV_KUBECONFIG: str(kubeconfig), ENV_CONTEXT: "no-such"})
    with pytest.raises(pytest.UsageError, match="no such file"):
        external_cluster({ENV_KUBECONFIG: str(tmp_path / "absent")})
