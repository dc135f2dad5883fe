"""Artifact rules on plain listings: layouts recognised or rejected by name, configs, placeholders, size and
the server's reserve, and the MLmodel signature against what the app sends."""

from __future__ import annotations

import pytest

from drkit.domain.artifact_rules import (
    ArtifactFile,
    ColumnSpec,
    ExpectedSignature,
    MemoryLimit,
    QuantityError,
    RuleSettings,
    Severity,
    TensorSpec,
    Verdict,
    evaluate,
    files_to_read,
    human_bytes,
    parse_quantity,
    summarize,
)

MIB = 1024 * 1024
WEIGHTS = b"\x00\x01safetensors-header" + bytes(range(256)) * 4  # binary, 1 KiB+: looks like real weights
MLMODEL_SKLEARN = b"""artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.5.0
"""


def run(files: dict[str, bytes | int], settings: RuleSettings | None = None) -> Verdict:
    """Evaluate a fake tree: values are contents (bytes) or, for large files, just a size (int)."""
    listing = [
        ArtifactFile(path, value if isinstance(value, int) else len(value)) for path, value in files.items()
    ]
    wanted = files_to_read(listing)
    contents = {p: v for p, v in files.items() if isinstance(v, bytes) and p in wanted}
    return evaluate(listing, contents, settings or RuleSettings(), "s3://bucket/model")


def check(verdict: Verdict, name: str) -> tuple[bool, str, Severity]:
    found = [c for c in verdict.checks if c.check == name]
    assert len(found) == 1, f"expected one {name} check in {verdict.checks}"
    return found[0].ok, found[0].message, found[0].severity


def lora() -> dict[str, bytes | int]:
    return {
        "adapters/adapters.safetensors": WEIGHTS,
        "adapters/adapter_config.json": b'{"task_type": "CAUSAL_LM", "r": 8}',
    }


def fused() -> dict[str, bytes | int]:
    return {"model.safetensors": 3 * MIB, "config.json": b'{"model_type": "OLMoForCausalLM"}'}


def test_mlflow_model_with_flavors_and_files_passes() -> None:
    verdict = run({"MLmodel": MLMODEL_SKLEARN, "model.pkl": WEIGHTS, "requirements.txt": b"scikit-learn\n"})
    assert verdict.ok, verdict.checks
    assert verdict.detected_format == "mlflow"
    assert check(verdict, "mlmodel")[0]
    assert "python_function, sklearn" in check(verdict, "mlmodel")[1]
    assert "all 6 checks passed" in summarize(verdict, "s3://bucket/model")


def test_lora_layout_is_recognised() -> None:
    verdict = run(lora())
    assert verdict.ok, verdict.checks
    assert verdict.detected_format == "lora"


def test_fused_layout_is_recognised_and_large_weights_are_not_read() -> None:
    listing = [ArtifactFile("model.safetensors", 3 * MIB), ArtifactFile("config.json", 10)]
    assert files_to_read(listing) == ["config.json"]
    verdict = run(fused())
    assert verdict.ok, verdict.checks
    assert verdict.detected_format == "fused"


def test_unknown_structure_fails_naming_what_each_layout_lacks() -> None:
    verdict = run({"random_file.txt": b"not a model", "adapters/adapters.safetensors": WEIGHTS})
    assert not verdict.ok
    assert verdict.detected_format is None
    ok, message, severity = check(verdict, "structure")
    assert not ok
    assert severity is Severity.ERROR
    assert "unknown model structure at s3://bucket/model" in message
    # what each known layout lacks, and nothing that is present (adapters/adapters.safetensors)
    assert (
        "MLflow lacks MLmodel; LoRA lacks adapters/adapter_config.json; "
        "fused lacks model.safetensors, config.json" in message
    )
    assert "random_file.txt" in message


def test_a_requested_format_is_enforced_even_when_another_one_is_present() -> None:
    verdict = run(lora(), RuleSettings(format="fused"))
    ok, message, _ = check(verdict, "structure")
    assert not ok
    assert "not a fused" in message
    assert "missing model.safetensors, config.json" in message


def test_lora_with_adapter_config_outside_adapters_dir_is_not_lora() -> None:
    files = {"adapters/adapters.safetensors": WEIGHTS, "adapter_config.json": b"{}"}
    verdict = run(files, RuleSettings(format="lora"))
    assert "missing adapters/adapter_config.json" in check(verdict, "structure")[1]


def test_empty_listing_says_the_uri_points_at_nothing() -> None:
    verdict = run({})
    assert not verdict.ok
    assert "no files at s3://bucket/model" in verdict.errors[0].message


def test_mlmodel_without_flavors_or_not_yaml_fails() -> None:
    no_flavors = run({"MLmodel": b"artifact_path: model\n", "model.pkl": WEIGHTS})
    assert "no `flavors`" in check(no_flavors, "mlmodel")[1]
    not_yaml = run({"MLmodel": b"flavors: [unclosed\n  - x: {", "model.pkl": WEIGHTS})
    ok, message, _ = check(not_yaml, "mlmodel")
    assert not ok
    assert "not valid YAML" in message


def test_mlmodel_naming_a_missing_weights_file_fails() -> None:
    verdict = run({"MLmodel": MLMODEL_SKLEARN, "conda.yaml": b"name: x\n"})
    ok, message, _ = check(verdict, "flavorFiles")
    assert not ok
    assert "sklearn.pickled_model -> model.pkl" in message
    assert "python_function.model_path -> model.pkl" in message


def test_mlmodel_naming_a_directory_is_satisfied_by_files_below_it() -> None:
    mlmodel = b"flavors:\n  pytorch:\n    model_data: data\n"
    verdict = run({"MLmodel": mlmodel, "data/model.pth": WEIGHTS})
    assert check(verdict, "flavorFiles")[0]


def test_bad_json_config_fails_naming_the_file() -> None:
    files = lora()
    files["adapters/adapter_config.json"] = b'{"task_type": "CAUSAL_LM",}'
    verdict = run(files)
    ok, message, _ = check(verdict, "jsonConfigs")
    assert not ok
    assert "adapters/adapter_config.json" in message
    assert not verdict.ok


def test_oversized_json_is_a_warning_not_an_error() -> None:
    files = fused()
    files["tokenizer.json"] = 5 * MIB
    verdict = run(files)
    ok, message, severity = check(verdict, "jsonConfigs")
    assert (ok, severity) == (False, Severity.WARNING)
    assert "tokenizer.json" in message
    assert verdict.ok
    assert "warnings:" in summarize(verdict, "x")


@pytest.mark.parametrize(
    "content",
    [
        b"mock_lora_weights",  # seed 002's test adapters: tiny
        b"dummy_model_content",  # seed 001's CI files
        b"this is a placeholder for the trained weights; replace before release. " * 3,  # text, not tiny
    ],
)
def test_placeholder_weights_fail(content: bytes) -> None:
    files = lora()
    files["adapters/adapters.safetensors"] = content
    verdict = run(files)
    ok, message, severity = check(verdict, "placeholders")
    assert (ok, severity) == (False, Severity.ERROR)
    assert "adapters/adapters.safetensors" in message


def test_small_binary_weights_are_not_placeholders() -> None:
    verdict = run({"MLmodel": MLMODEL_SKLEARN, "model.pkl": b"\x80\x04\x95" + bytes(200)})
    assert check(verdict, "placeholders")[0]


def test_oversized_model_fails_against_the_memory_limit() -> None:
    files: dict[str, bytes | int] = {"MLmodel": MLMODEL_SKLEARN, "model.pkl": 210 * MIB}
    limit = MemoryLimit("256Mi", "mlserver's")
    fits = run(files, RuleSettings(memory_limit=MemoryLimit("512Mi", "mlserver's")))
    assert check(fits, "size")[0]
    tight = run(files, RuleSettings(memory_limit=limit))
    ok, message, severity = check(tight, "size")
    assert (ok, severity) == (False, Severity.WARNING)  # 210 of 256 MiB: over 80%, but it fits
    over = run(files, RuleSettings(memory_limit=limit, max_size_ratio=1.5))
    ok, message, severity = check(over, "size")
    assert (ok, severity) == (False, Severity.ERROR)
    assert message.startswith("model is 210 MiB (x1.5 = 315 MiB) but mlserver's memory limit is 256Mi")
    assert not over.ok


def test_model_larger_than_the_limit_fails_at_ratio_one() -> None:
    verdict = run(
        {"MLmodel": MLMODEL_SKLEARN, "model.pkl": 5 * MIB},
        RuleSettings(memory_limit=MemoryLimit("4Mi", "the configured")),
    )
    ok, message, _ = check(verdict, "size")
    assert not ok
    assert "model is 5.0 MiB but the configured memory limit is 4Mi" in message
    assert "errors: model is 5.0 MiB" in summarize(verdict, "x")


def test_without_a_limit_the_size_is_reported_only() -> None:
    ok, message, _ = check(run(fused()), "size")
    assert ok
    assert "no memory limit" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("256Mi", 256 * MIB),
        ("1.5Gi", 3 * 512 * MIB),
        ("64Ki", 65536),
        ("500M", 500_000_000),
        ("1G", 10**9),
        ("2k", 2000),
        ("2K", 2000),
        ("134217728", 134217728),
        ("1e3", 1000),
        ("1500m", 2),  # millibytes round up
        (" 1Ti ", 2**40),
    ],
)
def test_quantities(text: str, expected: int) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "Mi", "256MB", "-1Gi", "1.2.3", "ten", "1 Gi"])
def test_bad_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError, match="not a memory quantity"):
        parse_quantity(text)


def test_human_bytes() -> None:
    assert human_bytes(812) == "812 B"
    assert human_bytes(210 * MIB) == "210 MiB"
    assert human_bytes(int(4.75 * MIB)) == "4.8 MiB"
    assert human_bytes(3 * 1024**3 // 2) == "1.5 GiB"


def test_the_server_reserve_is_added_to_the_model_before_the_limit() -> None:
    files: dict[str, bytes | int] = {"MLmodel": MLMODEL_SKLEARN, "model.pkl": 384 * MIB}
    limit = MemoryLimit("768Mi", "mlserver's", "Server fi/mlserver")
    assert check(run(files, RuleSettings(memory_limit=limit)), "size")[0]  # 384 MiB alone fits 768Mi
    ok, message, severity = check(
        run(files, RuleSettings(memory_limit=limit, server_reserve=512 * MIB)), "size"
    )
    assert (ok, severity) == (False, Severity.ERROR)
    assert message.startswith(
        "model 384 MiB + server reserve 512 MiB > mlserver's memory limit 768Mi (from Server fi/mlserver): "
        "it would be OOMKilled"
    )
    small: dict[str, bytes | int] = {"MLmodel": MLMODEL_SKLEARN, "model.pkl": 40 * 1024}
    for quantity in ("768Mi", "1Gi"):
        settings = RuleSettings(memory_limit=MemoryLimit(quantity, "mlserver's"), server_reserve=512 * MIB)
        ok, message, _ = check(run(small, settings), "size")
        assert ok, message
        assert "+ server reserve 512 MiB, fits mlserver's memory limit" in message


def test_a_reserve_that_leaves_little_room_is_a_warning() -> None:
    files: dict[str, bytes | int] = {"MLmodel": MLMODEL_SKLEARN, "model.pkl": 120 * MIB}
    settings = RuleSettings(memory_limit=MemoryLimit("768Mi", "mlserver's"), server_reserve=512 * MIB)
    ok, message, severity = check(run(files, settings), "size")  # 632 of 768 MiB: over 80%
    assert (ok, severity) == (False, Severity.WARNING)
    assert "120 MiB + server reserve 512 MiB, over 80%" in message


def mlmodel_with(inputs: str | None, outputs: str | None = None) -> bytes:
    """An MLmodel whose signature holds these JSON strings, as MLflow writes them (None: no signature)."""
    text = MLMODEL_SKLEARN.decode()
    if inputs is not None:
        text += f"signature:\n  inputs: '{inputs}'\n  outputs: '{outputs or 'null'}'\n  params: null\n"
    return text.encode()


FEATURES_8 = '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 8]}}]'
LABELS = '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
APP_SENDS_4 = ExpectedSignature((TensorSpec("float64", (-1, 4)),))


def signature_check(mlmodel: bytes, expected: ExpectedSignature) -> tuple[bool, str]:
    verdict = run({"MLmodel": mlmodel, "model.pkl": WEIGHTS}, RuleSettings(signature=expected))
    ok, message, severity = check(verdict, "signature")
    assert severity is Severity.ERROR
    assert verdict.ok is ok  # the signature check is the only one that can fail here
    return ok, message


def test_a_model_of_another_width_fails_the_signature_naming_both() -> None:
    ok, message = signature_check(mlmodel_with(FEATURES_8, LABELS), APP_SENDS_4)
    assert not ok
    assert "input 0: the model expects float64 (-1, 8), the playbook's app sends float64 (-1, 4)" in message
    assert "deploy a model trained for the app's features" in message


def test_the_apps_own_width_passes_and_outputs_are_compared_when_given() -> None:
    labels = (TensorSpec("int64", (-1,)),)
    ok, message = signature_check(
        mlmodel_with(FEATURES_8, LABELS), ExpectedSignature((TensorSpec("float64", (-1, 8)),), labels)
    )
    assert ok, message
    ok, message = signature_check(
        mlmodel_with(FEATURES_8, LABELS),
        ExpectedSignature((TensorSpec("float64", (-1, 8)),), (TensorSpec("float64", (-1,)),)),
    )
    assert not ok
    assert "output 0: the model returns int64 (-1,), the playbook expects float64 (-1,)" in message


@pytest.mark.parametrize(
    ("model_shape", "app_shape", "ok"),
    [
        ("[-1, 4]", (-1, 4), True),
        ("[-1, 4]", (1, 4), True),  # the model takes any batch: a single row is one
        ("[1, 4]", (-1, 4), False),  # the app may send more than the one row the model takes
        ("[1, 4]", (1, 4), True),
        ("[-1, 4]", (-1, 4, 1), False),  # another rank
    ],
)
def test_a_dimension_of_any_size_in_the_model_accepts_any_the_app_sends(
    model_shape: str, app_shape: tuple[int, ...], ok: bool
) -> None:
    inputs = f'[{{"type": "tensor", "tensor-spec": {{"dtype": "float64", "shape": {model_shape}}}}}]'
    assert (
        signature_check(mlmodel_with(inputs), ExpectedSignature((TensorSpec("float64", app_shape),)))[0] is ok
    )


def test_dtypes_names_and_columns_must_match() -> None:
    assert not signature_check(
        mlmodel_with(FEATURES_8), ExpectedSignature((TensorSpec("float32", (-1, 8)),))
    )[0]
    named = ExpectedSignature((TensorSpec("float64", (-1, 8), "features"),))
    ok, message = signature_check(mlmodel_with(FEATURES_8), named)
    assert not ok
    assert "the model expects float64 (-1, 8), the playbook's app sends 'features' float64 (-1, 8)" in message
    columns = '[{"type": "double", "name": "x", "required": true}, {"type": "long", "name": "n"}]'
    both = ExpectedSignature((ColumnSpec("x", "double"), ColumnSpec("n", "long")))
    assert signature_check(mlmodel_with(columns), both)[0]
    ok, message = signature_check(mlmodel_with(columns), ExpectedSignature((ColumnSpec("x", "double"),)))
    assert not ok
    assert (
        "inputs: the model expects 2 (column 'x' double, column 'n' long), the playbook's app sends 1"
        in message
    )
    mixed = ExpectedSignature((ColumnSpec("x", "double"), TensorSpec("int64", (-1,))))
    ok, message = signature_check(mlmodel_with(columns), mixed)
    assert not ok
    assert "input 1: the model expects column 'n' long, the playbook's app sends int64 (-1,)" in message


def test_a_model_without_a_signature_fails_when_one_is_expected() -> None:
    ok, message = signature_check(mlmodel_with(None), APP_SENDS_4)
    assert not ok
    assert message == (
        "the model was logged without a signature: log it with one, or drop `signature` from the check"
    )
    # Not expected: not checked.
    verdict = run({"MLmodel": mlmodel_with(None), "model.pkl": WEIGHTS})
    assert verdict.ok
    assert all(c.check != "signature" for c in verdict.checks)


def test_an_unreadable_signature_fails_saying_what_is_wrong() -> None:
    ok, message = signature_check(mlmodel_with("[{not json"), APP_SENDS_4)
    assert not ok
    assert "MLmodel's signature.inputs is not valid JSON" in message


def test_a_signature_expected_of_a_non_mlflow_model_is_a_warning() -> None:
    ok, message, severity = check(run(lora(), RuleSettings(signature=APP_SENDS_4)), "signature")
    assert (ok, severity) == (False, Severity.WARNING)
    assert "a LoRA model records no signature" in message
