"""Where the control plane is built and when it is built anew; Go missing or too old is a usage error."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from drkit_lab.controlplane import build
from drkit_lab.errors import EXIT_USAGE, LabUsageError


def _fake_go(tmp_path: Path, version: str) -> str:
    """A `go` that answers `go env GOVERSION` with `version` (and exits 3 for anything else)."""
    path = tmp_path / f"go-{version}"
    path.write_text(
        f'#!/bin/sh\nif [ "$1 $2" = "env GOVERSION" ]; then echo {version}; exit 0; fi\nexit 3\n',
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_cache_root_follows_the_override_then_xdg_then_home(tmp_path: Path) -> None:
    assert build.cache_root({build.CACHE_ENV: str(tmp_path / "cp")}) == tmp_path / "cp"
    assert build.cache_root({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "drkit" / "controlplane"
    assert build.cache_root({}) == Path.home() / ".cache" / "drkit" / "controlplane"


def test_the_build_directory_changes_with_the_go_release_and_names_the_pins(tmp_path: Path) -> None:
    first = build.binaries_dir("go1.26.8", tmp_path)
    assert first == build.binaries_dir("go1.26.8", tmp_path)
    assert first != build.binaries_dir("go1.26.9", tmp_path)
    assert first.parent == tmp_path
    assert "k8s-v1.37" in first.name
    assert "etcd-v3." in first.name


def test_an_incomplete_build_is_not_taken_for_one(tmp_path: Path) -> None:
    go = _fake_go(tmp_path, "go1.26.8")
    directory = build.binaries_dir("go1.26.8", tmp_path) / "bin"
    directory.mkdir(parents=True)
    for name in ("etcd", "kube-apiserver"):
        (directory / name).write_text("#!/bin/sh\n", encoding="utf-8")
        (directory / name).chmod(0o755)
    assert build.find_built(go, tmp_path) is None
    (directory / "kube-controller-manager").write_text("#!/bin/sh\n", encoding="utf-8")
    assert build.find_built(go, tmp_path) is None  # present but not executable
    (directory / "kube-controller-manager").chmod(0o755)
    found = build.find_built(go, tmp_path)
    assert found is not None
    assert found.kube_controller_manager == directory / "kube-controller-manager"


def test_a_complete_build_is_reused_without_running_go_build(tmp_path: Path) -> None:
    go = _fake_go(tmp_path, "go1.26.8")  # exits 3 on `go build`: any build attempt would fail
    directory = build.binaries_dir("go1.26.8", tmp_path) / "bin"
    directory.mkdir(parents=True)
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        (directory / name).write_text("#!/bin/sh\n", encoding="utf-8")
        (directory / name).chmod(0o755)
    lines: list[str] = []
    assert build.ensure_built(go=go, root=tmp_path, progress=lines.append).directory == directory
    assert lines
    assert "is built" in lines[0]


def test_a_failing_go_build_names_the_programs_and_leaves_no_half_build(tmp_path: Path) -> None:
    go = _fake_go(tmp_path, "go1.26.8")
    with pytest.raises(build.LabError) as caught:
        build.ensure_built(go=go, root=tmp_path)
    assert "kube-apiserver" in caught.value.message
    assert "exit 3" in caught.value.message
    home = build.binaries_dir("go1.26.8", tmp_path)
    assert not (home / "bin").exists()
    assert list(home.iterdir()) == []  # the staging directory is gone too


@pytest.mark.parametrize("version", ["go1.25.3", "devel-nonsense"])
def test_go_too_old_or_unreadable_is_a_usage_error(tmp_path: Path, version: str) -> None:
    with pytest.raises(LabUsageError) as caught:
        build.go_version(_fake_go(tmp_path, version))
    assert caught.value.exit_code == EXIT_USAGE
    assert "1.26" in caught.value.message
    assert "--control-plane emulated" in (caught.value.hint or "")


def test_go_missing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(LabUsageError) as caught:
        build.go_version(os.fspath(tmp_path / "no-such-go"))
    assert "failed" in caught.value.message


def test_the_shipped_modules_pin_the_versions_the_build_reports() -> None:
    files = build._module_files()
    assert f"\tk8s.io/kubernetes {build.KUBERNETES_VERSION} " in files["kube/go.mod"].decode()
    staging = "v0." + build.KUBERNETES_VERSION.removeprefix("v1.")
    assert f"k8s.io/client-go => k8s.io/client-go {staging}" in files["kube/go.mod"].decode()
    assert f"\tgo.etcd.io/etcd/server/v3 {build.ETCD_VERSION} " in files["etcd/go.mod"].decode()
    assert files["kube/go.sum"]
    assert files["etcd/go.sum"]
