"""The MLServer environment's cache: a build counts only once complete, and new pins build anew."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit_lab.serving import environment


def test_an_interrupted_build_is_not_taken_for_a_build(tmp_path: Path) -> None:
    home = environment.environment_dir(tmp_path)
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "mlserver").write_text("#!/bin/sh\n")
    assert environment.find_serving(tmp_path) is None  # pip may have stopped half-way: no serving.json
    (home / "serving.json").write_text("{}\n")
    found = environment.find_serving(tmp_path)
    assert found is not None
    assert found.mlserver == home / "bin" / "mlserver"


def test_other_pins_build_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = environment.environment_dir(tmp_path)
    assert any(pin.startswith("scikit-learn==") for pin in environment.requirements())
    monkeypatch.setattr(environment, "MODEL_LIBRARIES", ("scikit-learn",))
    assert environment.environment_dir(tmp_path) != before
