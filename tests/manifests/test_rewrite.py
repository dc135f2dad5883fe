"""Minimal in-place edits of Model manifests, and the all-or-nothing write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drkit.manifests import FileChange, ManifestError, find_models, rewrite_uris, write_all

MODELS = """\
# header comment
apiVersion: mlops.seldon.io/v1alpha1
kind: Model
metadata:
  name: baseline-predictor
  annotations:
    drkit.io/mlflow-experiment: financial-mlops
    drkit.io/mlflow-filter: "params.model_variant = 'baseline'"
spec:
  storageUri: 's3://old/0/models/m-0/artifacts'   # keep me
  requirements:
    - sklearn
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
kind: Model
apiVersion: mlops.seldon.io/v1alpha1
metadata: {name: enhanced-predictor, annotations: {drkit.io/mlflow-model: fin@champion}}
spec:
  server: mlserver
  storageUri: s3://old/1
"""


def test_finds_models_with_their_annotations(tmp_path: Path) -> None:
    targets = find_models(tmp_path / "m.yaml", MODELS)
    assert [(t.document, t.name) for t in targets] == [(0, "baseline-predictor"), (2, "enhanced-predictor")]
    assert targets[0].filter == "params.model_variant = 'baseline'"
    assert targets[1].registered_model == "fin@champion"


def test_rewrite_changes_only_the_values_and_keeps_quoting(tmp_path: Path) -> None:
    change = rewrite_uris(
        tmp_path / "m.yaml", MODELS, {0: "s3://new/1/models/m-a/artifacts", 2: "s3://new/x"}
    )
    expected = MODELS.replace(
        "'s3://old/0/models/m-0/artifacts'", "'s3://new/1/models/m-a/artifacts'"
    ).replace("storageUri: s3://old/1", "storageUri: s3://new/x")
    assert change.new_text == expected
    assert "# keep me" in change.diff()
    removed = [
        line for line in change.diff().splitlines() if line.startswith("-") and not line.startswith("---")
    ]
    assert len(removed) == 2  # only the two changed lines


def test_same_uri_is_no_change(tmp_path: Path) -> None:
    change = rewrite_uris(tmp_path / "m.yaml", MODELS, {2: "s3://old/1"})
    assert not change.changed


def _changes(tmp_path: Path) -> list[FileChange]:
    changes = []
    for name in ("a.yaml", "b.yaml"):
        path = tmp_path / name
        path.write_text(MODELS)
        changes.append(rewrite_uris(path, MODELS, {2: f"s3://new/{name}"}))
    return changes


def test_write_all_writes_every_file(tmp_path: Path) -> None:
    changes = _changes(tmp_path)
    assert write_all(changes) == [c.path for c in changes]
    assert all(c.path.read_text() == c.new_text for c in changes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]  # no temps or backups left


def test_failed_second_rename_restores_the_first(tmp_path: Path) -> None:
    changes = _changes(tmp_path)
    calls: list[Path] = []

    def replace(source: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise PermissionError(13, "Permission denied")
        os.replace(source, target)

    with pytest.raises(ManifestError, match="every file was restored"):
        write_all(changes, replace=replace)
    assert all(c.path.read_text() == MODELS for c in changes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_changes_nothing(tmp_path: Path) -> None:
    first, second = _changes(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "b.yaml").write_text(MODELS)
    second = rewrite_uris(locked / "b.yaml", MODELS, {2: "s3://new/b"})
    locked.chmod(0o500)
    try:
        with pytest.raises(ManifestError, match="no file was changed"):
            write_all([first, second])
    finally:
        locked.chmod(0o700)
    assert first.path.read_text() == MODELS


def test_file_edited_meanwhile_is_refused(tmp_path: Path) -> None:
    first, second = _changes(tmp_path)
    second.path.write_text(MODELS + "# edited\n")
    with pytest.raises(ManifestError, match="changed on disk"):
        write_all([first, second])
    assert first.path.read_text() == MODELS
