"""Durations read as people write them, printed as reports show them, and read back."""

from __future__ import annotations

import pytest

from drkit.playbook.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("2h", 7200.0),
        ("1.5m", 90.0),
        ("1d", 86400.0),
        ("1m30s500ms", 90.5),
        (" 45 ", 45.0),
        ("-5m", -300.0),
        (12, 12.0),
        (2.5, 2.5),
    ],
)
def test_parse(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["", "5 minutes", "5min", "m", "1h 30m", "5mm", "abc", "1.2.3s", "inf", "nan"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [True, float("inf"), float("nan")])
def test_parse_rejects_non_durations(value: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.25, "250ms"),
        (1.23, "1.2s"),
        (5.0, "5s"),
        (45.4, "45s"),
        (245, "4m05s"),
        (3723, "1h02m03s"),
        (59.6, "1m00s"),
        (-90, "-1m30s"),
    ],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "seconds", [0.0, 0.001, 0.5, 1.5, 9.5, 12.0, 60.0, 245.0, 3599.0, 3600.0, 86399.0, 90061.0]
)
def test_round_trip(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=0.051)
