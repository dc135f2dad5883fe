"""The V2 protocol's pure parts: request checks, tolerances, output comparison, server error text."""

from __future__ import annotations

import pytest

from drkit.steps.v2 import OutputExpectation, Tolerance, output_problems, request_problems, server_error


@pytest.mark.parametrize(
    ("tolerance", "got", "expected", "accepted"),
    [
        (Tolerance(), 1.0, 1.0, True),
        (Tolerance(), 1.0000001, 1.0, False),
        (Tolerance(absolute=0.5), 1.5, 1.0, True),  # on the bound
        (Tolerance(absolute=0.5), 1.5000001, 1.0, False),
        (Tolerance(relative=0.1), 110.0, 100.0, True),
        (Tolerance(relative=0.1), 111.0, 100.0, False),
        (Tolerance(absolute=1.0), True, 1, False),  # a boolean is not a number
        (Tolerance(), "yes", "yes", True),
    ],
)
def test_tolerance(tolerance: Tolerance, got: object, expected: object, accepted: bool) -> None:
    assert tolerance.accepts(got, expected) is accepted


def test_nested_and_flat_data_compare_alike_and_the_index_is_row_major() -> None:
    answer = [{"name": "y", "datatype": "FP64", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]}]
    assert output_problems([OutputExpectation(name="y", data=(1, 2, 3, 4, 5, 6))], answer) == []
    (problem,) = output_problems([OutputExpectation(name="y", data=(1, 2, 3, 4, 9, 6))], answer)
    assert problem == "output 'y': 1 of 6 value(s) differ; first at [1, 1]: got 5, expected 9"


def test_request_checks() -> None:
    assert (
        request_problems({"inputs": [{"name": "a", "shape": [2], "datatype": "BOOL", "data": [True, False]}]})
        == []
    )
    assert request_problems([]) == ["the request must be a JSON object with `inputs`, got a list"]
    twice = {"inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "data": ["x"]}] * 2}
    assert request_problems(twice) == ["input 'a' is given twice"]


def test_server_error_text() -> None:
    assert server_error('{"error": "Model m not found"}') == "Model m not found"
    detail = '{"detail":[{"loc":["body","inputs",0,"data"],"msg":"Field required"}]}'
    assert server_error(detail) == "body.inputs.0.data: Field required"
    assert server_error("Internal Server Error") == "Internal Server Error"
