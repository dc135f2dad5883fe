"""The training job's models (seed 000's failure scenarios included), saved locally and used as MLflow does.

Each model is fitted on the synthetic dataset and saved as an MLflow model directory (no server needed), then
loaded with `mlflow.pyfunc`, which enforces the signature as MLServer's MLflow runtime does. The normal models
state the width the app sends; the bad-architecture model is a valid model of the other width, which a request
of the app's width fails on; the oversized one really allocates its padding when loaded (measured in a child
process). The end-to-end path (a pipeline logs the model, the drill stops it) is tests/e2e/test_playbooks.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import subprocess_env
from ruamel.yaml import YAML

from drkit.domain import artifact_rules as rules
from drkit_lab.jobs.__main__ import _parser
from drkit_lab.jobs.data import Variant, write_dataset
from drkit_lab.jobs.scenarios import PADDING_ATTRIBUTE, Scenario, ScenarioError, architecture_for, pad
from drkit_lab.jobs.train import fit, save

MIB = 1024 * 1024
TEST_PADDING_MIB = 64  # the job's default is 384 MiB; the test needs only a size that stands out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("data") / "dataset.csv", 400, seed=0)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, dataset: Path) -> Any:
    """`models(variant, scenario)`: the saved model directory, built once per module."""
    root = tmp_path_factory.mktemp("models")
    built: dict[tuple[str, str], Path] = {}

    def make(variant: Variant, scenario: Scenario) -> Path:
        if (variant, scenario) not in built:
            target = root / f"{variant}-{scenario}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLflow's advice about input examples; not what is tested
                save(fit(dataset, variant, scenario=scenario, padding_mib=TEST_PADDING_MIB), target)
            built[variant, scenario] = target
        return built[variant, scenario]

    return make


def _signature(model_dir: Path) -> dict[str, Any]:
    document = YAML(typ="safe", pure=True).load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    signature = document["signature"]
    return {"inputs": json.loads(signature["inputs"]), "outputs": json.loads(signature["outputs"])}


def _tensor(dtype: str, *shape: int) -> list[dict[str, Any]]:
    return [{"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": list(shape)}}]


def _load(model_dir: Path) -> Any:
    import mlflow.pyfunc  # noqa: PLC0415 - heavy: only this module needs it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.pyfunc.load_model(str(model_dir))


def _requests(width: int, rows: int = 5) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(rows, width))


@pytest.mark.parametrize(("variant", "width"), [("baseline", 4), ("enhanced", 8)])
@pytest.mark.parametrize("scenario", ["normal", "oversized"])
def test_models_are_logged_with_the_signature_of_the_apps_feature_matrix(
    models: Any, variant: Variant, width: int, scenario: Scenario
) -> None:
    assert _signature(models(variant, scenario)) == {
        "inputs": _tensor("float64", -1, width),
        "outputs": _tensor("int64", -1),
    }
    predicted = _load(models(variant, scenario)).predict(_requests(width))
    assert predicted.shape == (5,)
    assert set(predicted.tolist()) <= {0, 1}


@pytest.mark.parametrize(
    ("variant", "own_width", "app_width", "estimator"),
    [("baseline", 8, 4, "GradientBoostingClassifier"), ("enhanced", 4, 8, "LogisticRegression")],
)
def test_bad_architecture_is_a_valid_model_of_the_other_width(
    models: Any, variant: Variant, own_width: int, app_width: int, estimator: str
) -> None:
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    model_dir = models(variant, "bad-architecture")
    # Its signature is honest: the width it was trained on, not the one the variant's app sends.
    assert _signature(model_dir)["inputs"] == _tensor("float64", -1, own_width)
    model = _load(model_dir)
    assert type(model.get_raw_model()).__name__ == estimator
    assert model.predict(_requests(own_width)).shape == (5,)  # it loads and predicts: a Ready model
    with pytest.raises(MlflowException, match=rf"Shape of input \(1, {app_width}\) does not match expected"):
        model.predict(_requests(app_width, rows=1))


def test_bad_architecture_swaps_the_architecture_only_for_that_scenario() -> None:
    assert architecture_for("baseline", "bad-architecture") == "enhanced"
    assert architecture_for("enhanced", "bad-architecture") == "baseline"
    assert architecture_for("enhanced", "oversized") == "enhanced"
    assert architecture_for("baseline", "normal") == "baseline"
    with pytest.raises(ScenarioError, match="unknown scenario 'tiny'"):
        architecture_for("baseline", "tiny")  # type: ignore[arg-type]


# The child's own peak RSS is VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork and exec,
# so a child of this (already large) pytest process would report the parent's size and show no growth.
_PEAK_RSS = """
import sys, warnings
warnings.simplefilter("ignore")
import mlflow.pyfunc, sklearn.linear_model, skops.io  # imported before the measurement starts

def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

before = peak_kib()
mlflow.pyfunc.load_model(sys.argv[1])
print(before, peak_kib())
"""


def _load_growth(model_dir: Path) -> int:
    """How much loading the model raises the peak RSS of a fresh process, in bytes."""
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(model_dir)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after = map(int, result.stdout.split())
    return (after - before) * 1024


def test_oversized_allocates_its_padding_when_loaded_and_predicts_as_the_normal_model(models: Any) -> None:
    normal, oversized = models("baseline", "normal"), models("baseline", "oversized")
    padding = TEST_PADDING_MIB * MIB
    assert sum(p.stat().st_size for p in oversized.rglob("*") if p.is_file()) > padding
    assert sum(p.stat().st_size for p in normal.rglob("*") if p.is_file()) < MIB
    padded_growth, normal_growth = _load_growth(oversized), _load_growth(normal)
    assert padded_growth >= 0.95 * padding, f"loading grew the peak RSS by {padded_growth / MIB:.0f} MiB"
    assert normal_growth < padding / 4, f"the normal model grew it by {normal_growth / MIB:.0f} MiB"
    # The padding rides along: prediction ignores it.
    requests = _requests(4, rows=50)
    padded = _load(oversized)
    assert getattr(padded.get_raw_model(), PADDING_ATTRIBUTE).nbytes == padding
    assert padded.predict(requests).tolist() == _load(normal).predict(requests).tolist()


def test_the_padding_is_dense_random_data_of_the_size_asked() -> None:
    class Estimator:
        pass

    estimator = Estimator()
    assert pad(estimator, 2, seed=5) == f"Estimator.{PADDING_ATTRIBUTE}: 2 MiB of padding"
    values = getattr(estimator, PADDING_ATTRIBUTE)
    assert values.nbytes == 2 * MIB
    assert len(np.unique(values)) > 0.99 * values.size  # not a run of zeros that would compress away
    with pytest.raises(ScenarioError, match="at least 1 MiB"):
        pad(estimator, 0, seed=5)


def test_the_default_oversized_model_fails_the_constrained_server_and_a_normal_one_fits(models: Any) -> None:
    """The job's default padding, against the scenario overlay's limit and drkit's default server reserve."""
    overlay = Path(__file__).resolve().parents[3] / "manifests/financial-mlops/scenarios/constrained-serving"
    server = YAML(typ="safe", pure=True).load((overlay / "seldon-server.yaml").read_text(encoding="utf-8"))
    limit = server["spec"]["podSpec"]["containers"][0]["resources"]["limits"]["memory"]
    settings = rules.RuleSettings(
        memory_limit=rules.MemoryLimit(limit, "mlserver's"),
        server_reserve=rules.parse_quantity(rules.DEFAULT_MLSERVER_RESERVE),
    )
    default_padding = _parser().parse_args(["train"]).padding_mib * MIB
    normal = models("enhanced", "normal")
    listing = [
        rules.ArtifactFile(p.relative_to(normal).as_posix(), p.stat().st_size)
        for p in normal.rglob("*")
        if p.is_file()
    ]
    contents = {path: (normal / path).read_bytes() for path in rules.files_to_read(listing)}
    assert rules.evaluate(listing, contents, settings, "normal").ok
    padded = [*listing, rules.ArtifactFile("padding-in-model.skops", default_padding)]
    (error,) = rules.evaluate(padded, contents, settings, "oversized").errors
    assert error.check == "size"
    assert (
        f"+ server reserve 512 MiB > mlserver's memory limit {limit}: it would be OOMKilled" in error.message
    )


def test_drkits_signature_check_stops_bad_architecture_and_passes_the_normal_model(models: Any) -> None:
    app_sends = rules.ExpectedSignature((rules.TensorSpec("float64", (-1, 4)),))
    for scenario, ok in (("normal", True), ("bad-architecture", False)):
        model_dir = models("baseline", scenario)
        listing = [
            rules.ArtifactFile(p.relative_to(model_dir).as_posix(), p.stat().st_size)
            for p in model_dir.rglob("*")
            if p.is_file()
        ]
        contents = {path: (model_dir / path).read_bytes() for path in rules.files_to_read(listing)}
        verdict = rules.evaluate(listing, contents, rules.RuleSettings(signature=app_sends), scenario)
        assert verdict.ok is ok, verdict.errors
    (error,) = verdict.errors
    assert (
        "input 0: the model expects float64 (-1, 8), the playbook's app sends float64 (-1, 4)"
        in error.message
    )


def test_the_job_takes_the_scenario_and_refuses_unknown_ones(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["train", "--scenario", "oversized", "--padding-mib", "60"])
    assert (args.scenario, args.padding_mib) == ("oversized", 60)
    assert _parser().parse_args(["train"]).scenario == "normal"
    with pytest.raises(SystemExit):
        _parser().parse_args(["train", "--scenario", "tiny"])
    assert "invalid choice: 'tiny'" in capsys.readouterr().err
