"""The two distributions as pip builds them: drkit's wheel ships no lab, the lab's wheel ships all it needs.

The wheels are built (no install) from a copy of the checkout (tests/packaging/conftest.py); reading their
file lists keeps this fast. `pytest -m packaging` selects these tests; test_installed_from_wheels.py installs
them.
"""

from __future__ import annotations

import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO_ROOT

import drkit

pytestmark = pytest.mark.packaging

MANIFESTS = REPO_ROOT / "manifests" / "financial-mlops"
LAB_PLATFORMS = REPO_ROOT / "lab" / "drkit_lab" / "platforms"
EXAMPLES = REPO_ROOT / "drkit" / "examples"


def _project(path: Path) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    return project


@pytest.fixture(scope="module")
def wheels(wheel_files: dict[str, Path]) -> Iterator[dict[str, zipfile.ZipFile]]:
    opened = {name: zipfile.ZipFile(path) for name, path in wheel_files.items()}
    try:
        yield opened
    finally:
        for wheel in opened.values():
            wheel.close()


def _metadata(wheel: zipfile.ZipFile, name: str) -> str:
    return wheel.read(next(n for n in wheel.namelist() if n.endswith(f".dist-info/{name}"))).decode()


def test_drkits_wheel_ships_no_lab_code_and_no_key(wheels: dict[str, zipfile.ZipFile]) -> None:
    names = wheels["drkit"].namelist()
    assert {n.split("/")[0] for n in names} == {"drkit", f"drkit-{drkit.__version__}.dist-info"}
    assert not [n for n in names if n.startswith(("drkit/lab/", "drkit_lab/"))]
    assert not [n for n in names if n.endswith((".pem", ".mod", ".sum"))]
    assert not [n for n in names if n.endswith(".yaml") and not n.startswith("drkit/examples/")]
    sources = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "drkit").rglob("*.py")}
    assert sources <= set(names)
    metadata = _metadata(wheels["drkit"], "METADATA")
    assert f'Requires-Dist: drkit-lab=={drkit.__version__}; extra == "lab"' in metadata


def test_the_labs_wheel_ships_its_code_data_and_entry_point(wheels: dict[str, zipfile.ZipFile]) -> None:
    wheel = wheels["drkit_lab"]
    names = set(wheel.namelist())
    sources = {
        p.relative_to(REPO_ROOT / "lab").as_posix() for p in (REPO_ROOT / "lab" / "drkit_lab").rglob("*.py")
    }
    assert sources <= names
    for module in ("runner.py", "jobs/__main__.py", "cli.py", "errors.py", "py.typed"):
        assert f"drkit_lab/{module}" in names
    data = [
        "platforms/lab-sealing-key.pem",
        "platforms/lab-sealing-cert.pem",
        "platforms/LAB-SEALING-KEY.md",
        *(f"platforms/crds/{p.name}" for p in (LAB_PLATFORMS / "crds").glob("*.yaml")),
        *(f"controlplane/gomod/{m}/{f}" for m in ("kube", "etcd") for f in ("go.mod", "go.sum")),
    ]
    assert {f"drkit_lab/{d}" for d in data} <= names
    assert not [n for n in names if not n.startswith(("drkit_lab/", "drkit_lab-"))]
    entry_points = _metadata(wheel, "entry_points.txt")
    assert "[drkit.commands]" in entry_points
    assert "lab = drkit_lab.cli:lab" in entry_points
    assert f"Requires-Dist: drkit=={drkit.__version__}" in _metadata(wheel, "METADATA")


def test_the_labs_wheel_carries_the_platform_manifests_as_files(wheels: dict[str, zipfile.ZipFile]) -> None:
    """The checkout keeps one copy (manifests/financial-mlops); the wheel build copies it into the package."""
    wheel = wheels["drkit_lab"]
    files = sorted(p for p in MANIFESTS.rglob("*") if p.is_file())
    assert any(p.parent.name == "base" for p in files)
    for path in files:
        packaged = f"drkit_lab/platforms/financial-mlops/{path.relative_to(MANIFESTS).as_posix()}"
        assert wheel.read(packaged) == path.read_bytes(), packaged


def test_the_checkout_has_one_copy_of_the_platform_manifests() -> None:
    link = LAB_PLATFORMS / "financial-mlops"
    assert link.is_symlink()
    assert not Path(link.readlink()).is_absolute()
    assert link.resolve() == MANIFESTS.resolve()
    assert not MANIFESTS.is_symlink()


def test_drkit_and_the_lab_are_released_together() -> None:
    root, lab = _project(REPO_ROOT / "pyproject.toml"), _project(REPO_ROOT / "lab" / "pyproject.toml")
    assert root["version"] == lab["version"] == drkit.__version__
    extras = root["optional-dependencies"]
    assert isinstance(extras, dict)
    assert extras["lab"] == [f"drkit-lab=={drkit.__version__}"]
    dependencies = lab["dependencies"]
    assert isinstance(dependencies, list)
    assert f"drkit=={drkit.__version__}" in dependencies


def test_drkits_wheel_carries_the_examples_as_files_laid_out_as_in_the_repository(
    wheels: dict[str, zipfile.ZipFile],
) -> None:
    """Playbooks, the manifests and request files they use, and the schema their `$schema` comment names."""
    wheel = wheels["drkit"]
    trees = [REPO_ROOT / "playbooks", REPO_ROOT / "manifests"]
    files = [p for tree in trees for p in tree.rglob("*") if p.is_file() and ".drkit" not in p.parts]
    files.append(REPO_ROOT / "docs" / "playbook.schema.json")
    assert any(p.suffix == ".json" and p.parent.name == "requests" for p in files)
    for path in files:
        packaged = f"drkit/examples/{path.relative_to(REPO_ROOT).as_posix()}"
        assert wheel.read(packaged) == path.read_bytes(), packaged
    shipped_docs = {n for n in wheel.namelist() if n.startswith("drkit/examples/docs/")}
    assert shipped_docs == {"drkit/examples/docs/playbook.schema.json"}  # the schema, not every doc


def test_the_checkout_has_one_copy_of_the_examples() -> None:
    for link, target in (
        (EXAMPLES / "playbooks", REPO_ROOT / "playbooks"),
        (EXAMPLES / "manifests", REPO_ROOT / "manifests"),
        (EXAMPLES / "docs" / "playbook.schema.json", REPO_ROOT / "docs" / "playbook.schema.json"),
    ):
        assert link.is_symlink(), link
        assert not Path(link.readlink()).is_absolute()
        assert link.resolve() == target.resolve()
