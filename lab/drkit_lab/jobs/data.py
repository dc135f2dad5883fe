"""A small synthetic financial dataset: deterministic for a seed, standard library only.

Each row is one trading day of one ticker with a few technical features; `label` says whether the next day's
return is positive. The label depends on the features (with noise), so a classifier can learn something and
the enhanced variant (more features) can beat the baseline."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path
from typing import Literal

BASE_FEATURES = ("return_1d", "return_5d", "volatility_10d", "volume_z")
EXTRA_FEATURES = ("rsi_14", "macd", "sentiment", "spread_bps")
FEATURES = BASE_FEATURES + EXTRA_FEATURES
COLUMNS = ("date_index", "ticker", *FEATURES, "label")
TICKERS = ("ACME", "GLOBX", "INITECH", "UMBR", "WAYNE")

Variant = Literal["baseline", "enhanced"]
VARIANTS: tuple[Variant, ...] = ("baseline", "enhanced")


def features_for(variant: Variant) -> tuple[str, ...]:
    """The columns a variant's model is trained on, in order: what the app sends it, as a feature matrix."""
    return FEATURES if variant == "enhanced" else BASE_FEATURES


def generate_rows(rows: int, seed: int) -> list[dict[str, object]]:
    """`rows` synthetic trading days."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    out: list[dict[str, object]] = []
    for index in range(rows):
        feats = {
            "return_1d": rng.gauss(0.0, 0.02),
            "return_5d": rng.gauss(0.0, 0.045),
            "volatility_10d": abs(rng.gauss(0.018, 0.006)),
            "volume_z": rng.gauss(0.0, 1.0),
            "rsi_14": min(100.0, max(0.0, rng.gauss(50.0, 15.0))),
            "macd": rng.gauss(0.0, 0.6),
            "sentiment": rng.uniform(-1.0, 1.0),
            "spread_bps": abs(rng.gauss(8.0, 3.0)),
        }
        score = (
            12.0 * feats["return_5d"]
            - 8.0 * feats["return_1d"]
            + 0.9 * feats["macd"]
            + 1.2 * feats["sentiment"]
            + 0.03 * (50.0 - feats["rsi_14"])
            + 0.2 * feats["volume_z"]
            + rng.gauss(0.0, 0.8)
        )
        label = 1 if 1.0 / (1.0 + math.exp(-score)) > 0.5 else 0
        out.append(
            {"date_index": index, "ticker": TICKERS[index % len(TICKERS)]}
            | {name: round(value, 6) for name, value in feats.items()}
            | {"label": label}
        )
    return out


def write_dataset(path: Path, rows: int, seed: int) -> Path:
    """Write the CSV (parents created) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(generate_rows(rows, seed))
    return path


def read_dataset(path: Path, features: tuple[str, ...]) -> tuple[list[list[float]], list[int]]:
    """Feature matrix and labels from a CSV written by `write_dataset`."""
    matrix: list[list[float]] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            matrix.append([float(row[name]) for name in features])
            labels.append(int(row["label"]))
    return matrix, labels
