"""The small JSON path dialect of `http` expectations."""

from __future__ import annotations

import pytest

from drkit.steps.jsonpath import JsonPathError, evaluate

DOC = {"status": "ok", "items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}], "odd key": {"x": 1}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", [DOC]),
        ("$.status", ["ok"]),
        ("$.items[0].name", ["a"]),
        ("$.items[-1].n", [2]),
        ("$.items[*].name", ["a", "b"]),
        ("$.items.*.n", [1, 2]),
        ("$['odd key'].x", [1]),
        ("$.items[5].name", []),
        ("$.status.deeper", []),
    ],
)
def test_paths_select_values(path: str, expected: list[object]) -> None:
    assert evaluate(path, DOC) == expected


@pytest.mark.parametrize("path", ["status", "$.items[", "$..name", "$.a b"])
def test_malformed_paths_are_errors(path: str) -> None:
    with pytest.raises(JsonPathError):
        evaluate(path, DOC)
