"""Finding the Seldon `Model` documents of manifest files, and where MLflow should be asked about each.

A Model opts in with annotations: `drkit.io/mlflow-experiment` plus `drkit.io/mlflow-filter` (the newest
run matching the filter), or `drkit.io/mlflow-model` (a registered model, `name@alias` or `name/version`).
Positions come from ruamel's round-trip loader so a rewrite can change exactly the characters of the value.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from drkit.manifests.errors import ManifestError
from drkit.playbook.yaml_input import (
    MANIFEST_LIMITS,
    YamlInputError,
    check_documents,
    read_limited,
)

EXPERIMENT_ANNOTATION = "drkit.io/mlflow-experiment"
FILTER_ANNOTATION = "drkit.io/mlflow-filter"
MODEL_ANNOTATION = "drkit.io/mlflow-model"
SELDON_GROUP = "mlops.seldon.io/"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class UriPosition:
    """Where the storageUri value is written: 0-based line and column of its first character, and style."""

    line: int
    column: int
    style: str  # "" plain, "'" single-quoted, '"' double-quoted


@dataclass(frozen=True)
class ModelTarget:
    file: Path
    document: int  # 0-based index of the document in its file
    name: str
    namespace: str | None
    storage_uri: str | None
    position: UriPosition | None  # None when the document has no spec.storageUri
    experiment: str | None = None
    filter: str | None = None
    registered_model: str | None = None

    def describe(self) -> str:
        return f"Model {self.namespace + '/' if self.namespace else ''}{self.name} in {self.file}"


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def load_documents(path: Path, text: str) -> list[Any]:
    """The documents of a manifest file, round-trip (comments and quoting kept), after the hostile-input
    checks every manifest reader applies (`drkit.playbook.yaml_input`: depth, alias expansion, tags)."""
    try:
        check_documents(text, MANIFEST_LIMITS)
    except YamlInputError as exc:
        raise ManifestError(exc.located(str(path)), hint=exc.hint) from None
    try:
        return list(round_trip_yaml().load_all(text))
    except YAMLError as exc:
        raise ManifestError(
            f"{path} is not valid YAML: {' '.join(str(exc).split())[:300]}",
            hint="fix the file (kubectl would refuse it as well)",
        ) from None


def read_text(path: Path) -> str:
    """A manifest file's text: a regular file within the manifest size limit, in UTF-8."""
    try:
        return read_limited(path, MANIFEST_LIMITS, allow_pipe=False)
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    except YamlInputError as exc:
        if exc.line > 0:
            raise ManifestError(exc.located(str(path)), hint=exc.hint) from None
        raise ManifestError(f"cannot read manifest {path}: {exc.message}", hint=exc.hint) from None


def find_models(path: Path, text: str) -> list[ModelTarget]:
    """Every Seldon Model document in the text of `path` (opted in or not)."""
    targets = []
    for index, doc in enumerate(load_documents(path, text)):
        if not _is_seldon_model(doc):
            continue
        metadata = doc.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        spec = doc.get("spec")
        uri, position = None, None
        if isinstance(spec, dict) and "storageUri" in spec:
            uri = spec["storageUri"]
            line, column = spec.lc.value("storageUri")  # type: ignore[attr-defined]
            position = UriPosition(line, column, _style(uri))
        targets.append(
            ModelTarget(
                file=path,
                document=index,
                name=str(metadata.get("name") or f"<document {index + 1}>"),
                namespace=_opt_str(metadata.get("namespace")),
                storage_uri=None if uri is None else str(uri),
                position=position,
                experiment=_opt_str(annotations.get(EXPERIMENT_ANNOTATION)),
                filter=_opt_str(annotations.get(FILTER_ANNOTATION)),
                registered_model=_opt_str(annotations.get(MODEL_ANNOTATION)),
            )
        )
    return targets


def expand_paths(patterns: list[str], base: Path) -> list[Path]:
    """Files named by paths or globs relative to `base`; a directory stands for its YAML files (recursively).

    A pattern that names nothing is an error: a typo must not turn into "nothing to rewrite".
    """
    found: dict[Path, None] = {}
    for pattern in patterns:
        full = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        matches = (
            sorted(Path(p) for p in glob.glob(str(full), recursive=True))
            if glob.has_magic(pattern)
            else [full]
        )
        matches = [m for m in matches if m.exists()]
        if not matches:
            raise ManifestError(
                f"{pattern!r} names no file (looked in {base})", hint="check the path or glob"
            )
        for match in matches:
            if match.is_dir():
                for file in sorted(match.rglob("*")):
                    if file.suffix in YAML_SUFFIXES and file.is_file():
                        found[file] = None
            else:
                found[match] = None
    return list(found)


def _is_seldon_model(doc: object) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "Model"
        and str(doc.get("apiVersion") or "").startswith(SELDON_GROUP)
    )


def _style(value: object) -> str:
    if isinstance(value, SingleQuotedScalarString):
        return "'"
    if isinstance(value, DoubleQuotedScalarString):
        return '"'
    return ""


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
