"""Fixtures for the playbook tests: a loader bound to the test kinds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from playbook_kinds import CHECK_KINDS, STEP_KINDS

from drkit.playbook.loader import load_playbook_text
from drkit.playbook.model import Playbook

LoadText = Callable[..., Playbook]


@pytest.fixture
def load() -> LoadText:
    """Load playbook text with the test kinds: load(text, overrides=..., filename=..., env=...)."""

    def _load(
        text: str,
        *,
        filename: str = "pb.yaml",
        overrides: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Playbook:
        return load_playbook_text(
            text,
            filename=filename,
            overrides=overrides,
            step_kinds=STEP_KINDS,
            check_kinds=CHECK_KINDS,
            env=env,
        )

    return _load
