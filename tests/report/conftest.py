"""The report tests' fixture: a finished drill as the engine reports it (report_support.drill_report)."""

from __future__ import annotations

import pytest
from report_support import drill_report

from drkit.report.model import RunReport


@pytest.fixture
def report() -> RunReport:
    return drill_report()
