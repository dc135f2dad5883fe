"""Failure scenarios of the training job (seed 000): valid MLflow models that register, load and report Ready,
and break only once the app's requests (or the pod's memory limit) reach them.

Seed 000 keeps two bad models next to the good one, selected by the training service's `scenario` parameter:
`bad_model.pth`, a ResNet-18 where the app expects MobileNetV2 (it loads, registers, and fails with shape
mismatch errors when the app calls it), and `oversized_model.pth`, the good model wrapped around a 201 MB
dummy buffer its forward pass ignores, which ends OOMKilled in a pod limited to 256Mi. The lab's job builds
their equivalents as real fitted scikit-learn models, logged like any other (same params, a READY model, an
honest signature):

- `bad-architecture`: the model for variant X is the other variant's architecture, trained on the other
  variant's feature width (baseline gets an 8-feature GradientBoosting model, enhanced a 4-feature logistic
  regression), under X's params. Its signature states its own width, so drkit's `modelArtifact` signature
  check catches it before deploy; served, a request with X's width fails MLflow's schema enforcement
  ("Shape of input (1, 8) does not match expected shape (-1, 4)").
- `oversized`: the real fitted estimator carrying a dense random array (`padding_`, 384 MiB by default) that
  prediction never reads. The sklearn flavor serializes it with the estimator, so loading the model allocates
  it; the scenario overlay limits the model server to 768Mi, which MLServer itself (~520 MB) fits and the
  padding on top does not. drkit's size check (model size plus the server's reserve) catches it.
"""

from __future__ import annotations

from typing import Any, Literal

from drkit_lab.jobs.data import Variant

Scenario = Literal["normal", "bad-architecture", "oversized"]
SCENARIOS: tuple[Scenario, ...] = ("normal", "bad-architecture", "oversized")
DEFAULT_PADDING_MIB = 384
PADDING_ATTRIBUTE = "padding_"
_MIB = 1024 * 1024
_FLOAT64_BYTES = 8


class ScenarioError(ValueError):
    """The scenario cannot be built as asked (an unknown scenario, a padding of less than 1 MiB)."""


def architecture_for(variant: Variant, scenario: Scenario) -> Variant:
    """Whose estimator and feature width the model logged for `variant` really has."""
    if scenario not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {scenario!r}: one of {', '.join(SCENARIOS)}")
    if scenario == "bad-architecture":
        return "baseline" if variant == "enhanced" else "enhanced"
    return variant


def pad(estimator: Any, padding_mib: int, seed: int) -> str:
    """Attach `padding_mib` MiB of random float64s to a fitted estimator; return what was done (for logs).

    Random values, not zeros: a run of zeros compresses away and could be mistaken for a placeholder, while
    trained weights are dense. scikit-learn ignores attributes it does not know, so predictions are unchanged.
    """
    if padding_mib < 1:
        raise ScenarioError(f"padding must be at least 1 MiB, not {padding_mib}")
    import numpy as np  # noqa: PLC0415 - heavy: only the training job loads it

    values = np.random.default_rng(seed).random(padding_mib * _MIB // _FLOAT64_BYTES)
    setattr(estimator, PADDING_ATTRIBUTE, values)
    return f"{type(estimator).__name__}.{PADDING_ATTRIBUTE}: {padding_mib} MiB of padding"
