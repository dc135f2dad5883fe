"""`drkit examples`: the shipped playbooks are the repository's, valid, and a copy of them runs where it lands
(the manifests, request files and schema they name come along, at the paths they name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import REPO_ROOT, RunDrkit

PLAYBOOKS = sorted((REPO_ROOT / "playbooks").glob("*.yaml"))
SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def test_list_names_every_playbook_of_the_repository_with_a_path_that_validates(
    drkit: RunDrkit, tmp_path: Path
) -> None:
    result = drkit("examples", "list", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    paths = [Path(line.strip()) for line in result.stdout.splitlines() if line.strip().endswith(".yaml")]
    assert sorted(p.name for p in paths) == [p.name for p in PLAYBOOKS]
    for path in paths:
        assert path.read_bytes() == (REPO_ROOT / "playbooks" / path.name).read_bytes()
    assert "Tear down and rebuild the financial-mlops platform" in result.stdout  # its description
    validated = drkit("validate", str(paths[0]), cwd=tmp_path)
    assert validated.exit_code == 0, validated.stderr


def test_copy_writes_playbooks_manifests_and_schema_as_in_the_repository(
    drkit: RunDrkit, tmp_path: Path
) -> None:
    result = drkit("examples", "copy", "ex", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    copy = tmp_path / "ex"
    for tree in ("playbooks", "manifests"):
        shipped = sorted(
            p.relative_to(REPO_ROOT)
            for p in (REPO_ROOT / tree).rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(REPO_ROOT).parts)
        )
        assert shipped
        for relative in shipped:
            assert (copy / relative).read_bytes() == (REPO_ROOT / relative).read_bytes(), relative
    assert not (copy / "playbooks" / ".drkit").exists()  # what a run of example-local leaves in a checkout


@pytest.mark.parametrize("name", [p.name for p in PLAYBOOKS])
def test_a_copied_playbook_validates_and_names_a_schema_that_exists(
    drkit: RunDrkit, tmp_path: Path, name: str
) -> None:
    assert drkit("examples", "copy", "ex", cwd=tmp_path).exit_code == 0
    playbook = tmp_path / "ex" / "playbooks" / name
    validated = drkit("validate", str(playbook), cwd=tmp_path)
    assert validated.exit_code == 0, validated.stderr
    (named,) = SCHEMA_COMMENT.findall(playbook.read_text(encoding="utf-8"))
    schema = (playbook.parent / named).resolve()
    assert schema.read_bytes() == (REPO_ROOT / "docs" / "playbook.schema.json").read_bytes()


def test_copy_refuses_a_non_empty_directory_unless_forced(drkit: RunDrkit, tmp_path: Path) -> None:
    (tmp_path / "ex").mkdir()
    (tmp_path / "ex" / "notes.txt").write_text("mine\n", encoding="utf-8")
    refused = drkit("examples", "copy", "ex", cwd=tmp_path)
    assert refused.exit_code == 2
    assert "ex is not empty" in refused.stderr
    assert [p.name for p in (tmp_path / "ex").iterdir()] == ["notes.txt"]
    forced = drkit("examples", "copy", "ex", "--force", cwd=tmp_path)
    assert forced.exit_code == 0, forced.stderr
    assert (tmp_path / "ex" / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert (tmp_path / "ex" / "playbooks" / "financial-mlops.yaml").is_file()
