"""Fixtures for the lab tests. The session-wide labs live in tests/conftest.py (shared by all tests).

`lab_without_mlflow` starts in well under a second; `lab_with_platform` starts a real MLflow server, trains
the two model variants and installs the financial-mlops platform (tens of seconds: mark its tests `mlflow`).
Tests that change faults or stop controllers must restore them (use `restore_faults`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab_helpers import LabHandle


@pytest.fixture
def restore_faults(lab_without_mlflow: LabHandle) -> Iterator[LabHandle]:
    """`lab_without_mlflow`, with faults and controllers restored after the test."""
    try:
        yield lab_without_mlflow
    finally:
        lab_without_mlflow.restore()
