"""Every registered kind's module is under the import contracts that keep kinds apart and out of the engine
and the CLI (pyproject.toml): a kind missing from them could be imported, and special-cased, by its class."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from drkit.steps.registry import PROBE_KINDS, STEP_KINDS

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _contract(name: str) -> dict[str, Any]:
    contracts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"] == name)


def test_every_kind_module_is_kept_apart_and_out_of_the_engine_and_cli() -> None:
    modules = {kind.build.__module__ for kind in [*STEP_KINDS.values(), *PROBE_KINDS.values()]}
    assert "drkit.steps.check" in modules
    assert set(_contract("Step kinds do not import one another")["modules"]) == modules
    only_registry = _contract("Only the registry imports the step kinds")
    assert set(only_registry["forbidden_modules"]) == modules
    assert {"drkit.cli", "drkit.engine"} <= set(only_registry["source_modules"])
