"""Fault settings: validation of what the admin endpoint receives, and repeatable (seeded) decisions."""

from __future__ import annotations

import pytest

from drkit_lab.faults import Faults, FaultSettings


def test_from_json_round_trips_and_rejects_nonsense() -> None:
    settings = FaultSettings.from_json(
        {"error_rate": 0.5, "error_codes": [503], "down_controllers": ["argo"]}
    )
    assert settings.error_codes == (503,)
    assert FaultSettings.from_json(settings.to_json()) == settings
    with pytest.raises(ValueError, match="unknown fault settings: eror_rate"):
        FaultSettings.from_json({"eror_rate": 1})
    with pytest.raises(ValueError, match="error_rate must be"):
        FaultSettings.from_json({"error_rate": 2})
    with pytest.raises(ValueError, match="error_codes"):
        FaultSettings.from_json({"error_codes": [200]})


def test_same_seed_same_decisions() -> None:
    def run() -> list[str]:
        faults = Faults(FaultSettings(error_rate=0.3, drop_rate=0.1, seed=42))
        return [f"{d.verdict}:{d.code}" for d in (faults.decide() for _ in range(50))]

    first = run()
    assert first == run()
    assert {"pass:0", "drop:0"} <= set(first)
    assert any(v.startswith("error:") for v in first)


def test_a_requests_fate_does_not_depend_on_the_order_threads_send_requests_in() -> None:
    requests = [f"GET /api/v1/namespaces/ns/configmaps/cm-{i}" for i in range(40)]

    def fates(order: list[str]) -> dict[str, list[str]]:
        faults = Faults(FaultSettings(error_rate=0.3, seed=7))
        seen: dict[str, list[str]] = {r: [] for r in order}
        for _ in range(3):  # each request sent three times (its retries)
            for request in order:
                decision = faults.decide(request)
                seen[request].append(f"{decision.verdict}:{decision.code}")
        return seen

    forwards = fates(requests)
    assert forwards == fates(list(reversed(requests)))
    assert any(fate[0] != fate[1] for fate in forwards.values())  # a retry is a new draw


def test_checks_of_the_lab_itself_are_never_failed() -> None:
    faults = Faults(FaultSettings(error_rate=1.0, drop_rate=1.0, latency_ms=5))
    decision = faults.decide(errors_allowed=False)
    assert decision.verdict == "pass"
    assert decision.delay_seconds == 0.005
