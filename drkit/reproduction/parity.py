"""Prediction parity: the answers of a replay compared with golden ones, and which model gave them.

Outputs are matched by name (by position when an output has none), then compared as V2 tensors are: the
datatype, the shape, then the values flattened in row-major order. Each value is equal, within the tolerance
(`|got - expected| <= absolute + relative * |expected|`, as numpy.isclose) or beyond it; the worst value is
the one furthest off, where anything without a distance (a label, a boolean, a missing output, another
shape) ranks worst of all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.report.reproduction import Verdict, WorstDifference

# MLflow 3 LoggedModel: <root>/<exp>/models/m-<id>/artifacts; MLflow 2: <root>/<exp>/<run id>/artifacts/model
_LOGGED_MODEL = re.compile(r"/models/(m-[0-9A-Za-z]+)/artifacts/?$")
_RUN_LAYOUT = re.compile(r"/([0-9a-f]{32})/artifacts(?:/[^/]+)*/?$")


def model_id_of(storage_uri: str | None) -> str | None:
    """The MLflow id a storage URI names: `m-<id>` for a LoggedModel, the run id for the run layout."""
    if not storage_uri:
        return None
    logged = _LOGGED_MODEL.search(storage_uri)
    if logged:
        return logged.group(1)
    run = _RUN_LAYOUT.search(storage_uri)
    return run.group(1) if run else None


@dataclass(frozen=True)
class Tolerance:
    absolute: float = 0.0
    relative: float = 0.0

    def allows(self, difference: float, expected: float) -> bool:
        return difference <= self.absolute + self.relative * abs(expected)


@dataclass(frozen=True)
class Comparison:
    verdict: Verdict
    compared: int  # values compared
    beyond: int  # values beyond the tolerance (or without a distance and unequal)
    inexact: int  # values not exactly equal
    worst: WorstDifference | None


@dataclass
class _Worst:
    """The running worst: beyond the tolerance outranks within it; no distance outranks any distance."""

    found: WorstDifference | None = None

    def offer(self, candidate: WorstDifference) -> None:
        current = self.found
        if current is None or _rank(candidate) > _rank(current):
            self.found = candidate


def _rank(worst: WorstDifference) -> tuple[bool, float]:
    return worst.beyond_tolerance, math.inf if worst.difference is None else worst.difference


def compare_outputs(
    golden: Sequence[Mapping[str, Any]], got: Sequence[Mapping[str, Any]], tolerance: Tolerance
) -> Comparison:
    """Every golden output against the replay's; see the module docstring."""
    worst = _Worst()
    compared = beyond = inexact = 0
    by_name = {str(o.get("name")): o for o in got if o.get("name") is not None}
    for position, want in enumerate(golden):
        label = str(want.get("name") or f"#{position + 1}")
        have = by_name.get(str(want["name"])) if want.get("name") is not None else None
        if have is None and want.get("name") is None and position < len(got):
            have = got[position]
        expected_values = _flat(want.get("data"))
        if have is None:
            names = ", ".join(sorted(by_name)) or "none"
            worst.offer(_whole(label, f"missing from the answer (it has {names})"))
            compared += len(expected_values)
            beyond += len(expected_values)
            inexact += len(expected_values)
            continue
        problem = _tensor_problem(want, have)
        if problem:
            worst.offer(_whole(label, problem))
            compared += len(expected_values)
            beyond += len(expected_values)
            inexact += len(expected_values)
            continue
        shape = [int(d) for d in want.get("shape") or [len(expected_values)]]
        for flat, (e, g) in enumerate(zip(expected_values, _flat(have.get("data")), strict=True)):
            compared += 1
            if _same(e, g):
                continue
            inexact += 1
            distance = _distance(e, g)
            ok = distance is not None and tolerance.allows(distance, float(e))  # type: ignore[arg-type]
            if not ok:
                beyond += 1
            worst.offer(WorstDifference(label, _index(flat, shape), e, g, distance, beyond_tolerance=not ok))
    verdict = Verdict.DIFFERENT if beyond else Verdict.WITHIN_TOLERANCE if inexact else Verdict.EQUAL
    return Comparison(verdict, compared, beyond, inexact, worst.found)


def _tensor_problem(want: Mapping[str, Any], have: Mapping[str, Any]) -> str:
    if want.get("datatype") and have.get("datatype") != want.get("datatype"):
        return f"datatype {have.get('datatype')!r}, expected {want.get('datatype')!r}"
    if want.get("shape") is not None and list(have.get("shape") or []) != list(want["shape"]):
        return f"shape {have.get('shape')}, expected {want['shape']}"
    got, expected = _flat(have.get("data")), _flat(want.get("data"))
    if len(got) != len(expected):
        return f"{len(got)} value(s), expected {len(expected)}"
    return ""


def _whole(label: str, note: str) -> WorstDifference:
    return WorstDifference(label, (), None, None, None, beyond_tolerance=True, note=note)


def _flat(data: object) -> list[object]:
    if not isinstance(data, list | tuple):
        return [] if data is None else [data]
    flat: list[object] = []
    for item in data:
        flat.extend(_flat(item) if isinstance(item, list | tuple) else [item])
    return flat


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(expected: object, got: object) -> bool:
    if _is_number(expected) and _is_number(got):
        return float(expected) == float(got)  # type: ignore[arg-type]
    return expected == got and type(expected) is type(got)


def _distance(expected: object, got: object) -> float | None:
    if _is_number(expected) and _is_number(got):
        distance = abs(float(got) - float(expected))  # type: ignore[arg-type]
        return distance if math.isfinite(distance) else None
    return None


def _index(flat: int, shape: Sequence[int]) -> tuple[int, ...]:
    """The row-major multi-index of a flat position (the flat position itself when the shape is odd)."""
    if not shape or any(d <= 0 for d in shape) or math.prod(shape) <= flat:
        return (flat,)
    index: list[int] = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        index.append(rest)
    return tuple(reversed(index))
