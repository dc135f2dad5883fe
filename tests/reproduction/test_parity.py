"""Parity verdicts: equal, within tolerance, different with the right worst element; same or retrained."""

from __future__ import annotations

from drkit.report.reproduction import ModelIdentity, ModelParity, Sameness, Verdict
from drkit.reproduction.parity import Tolerance, compare_outputs, model_id_of


def _out(name: str, data: list[object], shape: list[int], datatype: str = "FP64") -> dict[str, object]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


GOLDEN = [_out("scores", [0.5, 1.0, 2.0, 4.0], [2, 2]), _out("label", [1, 0], [2, 1], "INT64")]


def test_identical_answers_are_equal() -> None:
    result = compare_outputs(GOLDEN, [dict(o) for o in reversed(GOLDEN)], Tolerance())  # matched by name
    assert (result.verdict, result.compared, result.inexact, result.beyond) == (Verdict.EQUAL, 6, 0, 0)
    assert result.worst is None


def test_small_drift_is_within_tolerance_and_the_worst_is_the_furthest_off() -> None:
    got = [_out("scores", [0.5, 1.001, 2.0, 3.995], [2, 2]), GOLDEN[1]]
    result = compare_outputs(GOLDEN, got, Tolerance(absolute=0.01))
    assert result.verdict is Verdict.WITHIN_TOLERANCE
    assert (result.inexact, result.beyond) == (2, 0)
    assert result.worst is not None
    assert (result.worst.output, result.worst.index) == ("scores", (1, 1))
    assert (result.worst.expected, result.worst.got) == (4.0, 3.995)
    assert result.worst.difference is not None
    assert abs(result.worst.difference - 0.005) < 1e-12
    assert not result.worst.beyond_tolerance


def test_a_value_beyond_the_tolerance_is_different_and_outranks_larger_drift_within_it() -> None:
    # relative 1%: 4.0 -> 4.03 is within (0.04 allowed), 0.5 -> 0.52 is beyond (0.005 allowed).
    got = [_out("scores", [0.52, 1.0, 2.0, 4.03], [2, 2]), GOLDEN[1]]
    result = compare_outputs(GOLDEN, got, Tolerance(relative=0.01))
    assert result.verdict is Verdict.DIFFERENT
    assert (result.inexact, result.beyond) == (2, 1)
    assert result.worst is not None
    assert (result.worst.output, result.worst.index, result.worst.expected, result.worst.got) == (
        "scores",
        (0, 0),
        0.5,
        0.52,
    )
    assert result.worst.beyond_tolerance


def test_a_flipped_class_is_different_whatever_the_tolerance_of_numbers() -> None:
    got = [GOLDEN[0], _out("label", [1, 1], [2, 1], "INT64")]
    result = compare_outputs(GOLDEN, got, Tolerance(absolute=0.5))
    assert result.verdict is Verdict.DIFFERENT
    assert result.worst is not None
    assert (result.worst.output, result.worst.index, result.worst.expected, result.worst.got) == (
        "label",
        (1, 0),
        0,
        1,
    )
    assert "output 'label'[1, 0]: expected 0, got 1" in result.worst.describe()


def test_another_shape_or_a_missing_output_is_different_with_a_note() -> None:
    reshaped = compare_outputs(GOLDEN, [_out("scores", [0.5, 1.0], [2, 1]), GOLDEN[1]], Tolerance())
    assert reshaped.verdict is Verdict.DIFFERENT
    assert reshaped.worst is not None
    assert "shape [2, 1], expected [2, 2]" in reshaped.worst.note
    missing = compare_outputs(GOLDEN, [GOLDEN[0]], Tolerance())
    assert missing.verdict is Verdict.DIFFERENT
    assert missing.worst is not None
    assert missing.worst.output == "label"
    assert "missing from the answer" in missing.worst.note


def test_unnamed_outputs_are_matched_by_position() -> None:
    golden = [{"datatype": "INT64", "shape": [3], "data": [1, 2, 3]}]
    result = compare_outputs(
        golden, [{"name": "output-1", "datatype": "INT64", "shape": [3], "data": [1, 2, 4]}], Tolerance()
    )
    assert result.worst is not None
    assert (result.worst.index, result.worst.got) == ((2,), 4)


def test_model_ids_from_both_mlflow_layouts() -> None:
    assert model_id_of("s3://mlflow-artifacts/1/models/m-0a1b2c/artifacts") == "m-0a1b2c"
    assert model_id_of("s3://mlflow-artifacts/1/models/m-0a1b2c/artifacts/") == "m-0a1b2c"
    run = "0123456789abcdef0123456789abcdef"
    assert model_id_of(f"s3://mlflow-artifacts/1/{run}/artifacts/model") == run
    assert model_id_of("gs://bucket/some/model") is None
    assert model_id_of(None) is None


def _parity(
    old: str | None, new: str | None, uri_old: str | None = "a", uri_new: str | None = "b"
) -> ModelParity:
    return ModelParity("m", "m", "e", Verdict.EQUAL, ModelIdentity(uri_old, old), ModelIdentity(uri_new, new))


def test_same_model_and_retrained_are_told_apart() -> None:
    assert _parity("m-1", "m-1").sameness is Sameness.SAME
    retrained = _parity("m-1", "m-2")
    assert retrained.sameness is Sameness.RETRAINED
    assert retrained.identity_line() == "retrained (m-1 → m-2)"
    assert _parity(None, None, "s3://x", "s3://x").sameness is Sameness.SAME
    assert _parity(None, "m-2").sameness is Sameness.UNKNOWN
