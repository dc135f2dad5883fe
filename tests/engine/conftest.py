"""Engine tests that run real step kinds against the lab's API server in-process (tests/kube/kube_lab.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))
from kube_lab import Lab, running_lab

from drkit_lab.apiserver.store import Store


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A fresh API server (no controllers) behind a kubeconfig, with the lab's fault injection."""
    with running_lab(tmp_path / "lab", Store()) as started:
        yield started
