"""Failure scenarios of the training job (seed 000): models that register in MLflow without complaint and
break only once they are served.

Seed 000 keeps two bad models next to the good one, selected by the training service's `scenario` parameter:
`bad_model.pth`, a ResNet-18 checkpoint where the app expects MobileNetV2 (a model-app mismatch), and
`oversized_model.pth`, the good model wrapped around a 201 MB dummy buffer that ends OOMKilled in a pod
limited to 256Mi. The lab's job builds their equivalents from a real saved MLflow model directory:

- `bad-architecture`: the checkpoint of a different architecture (`bad_model.pth`) stands where the
  estimator the MLmodel file describes should be. MLmodel still names `model.skops`, which is not there, so
  no MLflow server can load the model, although MLflow registers it as READY.
- `oversized`: the real model plus a dense padding buffer (`padding.bin`), scaled down from the seed's 201 MB
  to stay cheap in CI (48 MiB by default); the scenario overlay limits the model server to 32Mi to match.

Both are plain file edits, so drkit's `modelArtifact` check (which looks only at the files) can be shown to
catch each one before deploy.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Literal

from ruamel.yaml import YAML

Scenario = Literal["normal", "bad-architecture", "oversized"]
SCENARIOS: tuple[Scenario, ...] = ("normal", "bad-architecture", "oversized")
DEFAULT_PADDING_MIB = 48
BAD_CHECKPOINT = "bad_model.pth"
BAD_CHECKPOINT_BYTES = 2 * 1024 * 1024  # ResNet-18 is 43 MB in the seed; the size is not the point here
PADDING_FILE = "padding.bin"
_CHUNK = 1024 * 1024
# Flavor keys that name the serialized estimator in an MLflow model directory.
_MODEL_FILE_KEYS = (("sklearn", "pickled_model"), ("python_function", "model_path"))


class ScenarioError(ValueError):
    """The model directory is not one the scenario can be built from (no MLmodel, no serialized model)."""


def apply_scenario(
    model_dir: Path, scenario: Scenario, *, padding_mib: int = DEFAULT_PADDING_MIB, seed: int = 0
) -> list[str]:
    """Turn a saved MLflow model directory into the scenario's model; return what was changed (for logs)."""
    if scenario == "normal":
        return []
    if scenario == "bad-architecture":
        return _swap_in_wrong_checkpoint(model_dir, seed)
    if scenario == "oversized":
        return [_pad(model_dir, padding_mib, seed)]
    raise ScenarioError(f"unknown scenario {scenario!r}: one of {', '.join(SCENARIOS)}")


def _model_files(model_dir: Path) -> set[str]:
    mlmodel = model_dir / "MLmodel"
    if not mlmodel.is_file():
        raise ScenarioError(f"{model_dir} has no MLmodel file: save the model with MLflow first")
    document = YAML(typ="safe", pure=True).load(mlmodel.read_text(encoding="utf-8")) or {}
    flavors = document.get("flavors") or {}
    names = {
        str(value)
        for flavor, key in _MODEL_FILE_KEYS
        if isinstance(value := (flavors.get(flavor) or {}).get(key), str) and value
    }
    if not names:
        raise ScenarioError(f"the MLmodel in {model_dir} names no serialized model file")
    return names


def _swap_in_wrong_checkpoint(model_dir: Path, seed: int) -> list[str]:
    changes = []
    for name in sorted(_model_files(model_dir)):
        target = model_dir / name
        if target.exists():
            target.unlink()
            changes.append(f"removed {name}")
    _write_random(model_dir / BAD_CHECKPOINT, BAD_CHECKPOINT_BYTES, seed)
    changes.append(f"wrote {BAD_CHECKPOINT} ({BAD_CHECKPOINT_BYTES // _CHUNK} MiB, a different architecture)")
    return changes


def _pad(model_dir: Path, padding_mib: int, seed: int) -> str:
    if padding_mib < 1:
        raise ScenarioError(f"padding must be at least 1 MiB, not {padding_mib}")
    _model_files(model_dir)  # a real model underneath: only the size is wrong
    _write_random(model_dir / PADDING_FILE, padding_mib * _CHUNK, seed)
    return f"wrote {PADDING_FILE} ({padding_mib} MiB of padding)"


def _write_random(path: Path, size: int, seed: int) -> None:
    """Incompressible bytes, as trained weights are (a run of zeros would look like a placeholder)."""
    rng = random.Random(seed)  # noqa: S311 - filler bytes, not secrets
    with path.open("wb") as handle:
        left = size
        while left > 0:
            step = min(_CHUNK, left)
            handle.write(rng.randbytes(step))
            left -= step
