"""Which model each Seldon Model should serve, from what MLflow holds: the resolution `modelUris` and
`drkit models rewrite` share.

Seed 003 spent its trial and error here: after retraining, the models live under new ids, and the manifests
must name the directory that holds the MLmodel file. For each Model that opts in (annotations, or explicit
queries), this finds the newest matching run (or registered version), checks the MLmodel file is there, and
plans a minimal edit of the manifest. Every model is resolved before any file is written, and files change
all together or not at all (`write_plan`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drkit.manifests import (
    FileChange,
    ManifestError,
    ModelTarget,
    find_models,
    read_text,
    rewrite_uris,
)
from drkit.manifests import write_all as write_files
from drkit.mlflow import (
    MlflowAuthError,
    MlflowClient,
    MlflowError,
    MlflowForbidden,
    MlflowUnreachable,
    ModelLocation,
    ModelQuery,
    RunQuery,
    locate,
    parse_registered,
    to_storage_uri,
    verify_mlmodel,
)

DEFAULT_STORAGE_ROOT = "s3://mlflow-artifacts/"


@dataclass(frozen=True)
class ExplicitModel:
    name: str
    query: ModelQuery


@dataclass(frozen=True)
class RewriteOptions:
    storage_root: str = DEFAULT_STORAGE_ROOT
    variants: tuple[str, ...] = ()  # empty: every opted-in Model
    explicit: tuple[ExplicitModel, ...] = ()


@dataclass(frozen=True)
class ModelUpdate:
    """One Model: where it pointed, where MLflow says its model is (or why that could not be found)."""

    target: ModelTarget
    query: ModelQuery
    location: ModelLocation | None = None
    new_uri: str | None = None
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.new_uri is not None and self.new_uri != self.target.storage_uri

    def details(self) -> dict[str, object]:
        found = self.location
        return {
            "file": str(self.target.file),
            "name": self.target.name,
            "namespace": self.target.namespace,
            "query": self.query.describe(),
            "old": self.target.storage_uri,
            "new": self.new_uri,
            "changed": self.changed,
            "runId": found.run_id if found else None,
            "modelId": found.model_id if found else None,
            "layout": found.layout if found else None,
            "matchedRuns": found.matched_runs if found else None,
            "registeredVersion": found.registered_version if found else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class RewritePlan:
    updates: tuple[ModelUpdate, ...]
    changes: tuple[FileChange, ...]  # one per file that would change
    skipped: tuple[str, ...] = ()  # Models not opted in, or not among the variants
    files: tuple[Path, ...] = ()

    @property
    def failures(self) -> tuple[ModelUpdate, ...]:
        return tuple(u for u in self.updates if u.error is not None)

    def diff(self) -> str:
        return "".join(change.diff() for change in self.changes)

    def details(self) -> dict[str, object]:
        return {
            "models": [u.details() for u in self.updates],
            "skipped": list(self.skipped),
            "filesChanged": [str(c.path) for c in self.changes],
        }


def mentions_variant(target: ModelTarget, query: ModelQuery, variants: Sequence[str]) -> bool:
    """Is this Model one of the variants? Its filter quotes one (`= 'enhanced'`) or its name has it."""
    if not variants:
        return True
    text = query.filter if isinstance(query, RunQuery) else ""
    for variant in variants:
        if re.search(rf"""['"]{re.escape(variant)}['"]""", text):
            return True
        if variant in re.split(r"[-_.]", target.name):
            return True
    return False


def query_of(target: ModelTarget, explicit: Mapping[str, ExplicitModel]) -> ModelQuery | None:
    if target.name in explicit:
        return explicit[target.name].query
    if target.registered_model:
        try:
            return parse_registered(target.registered_model)
        except ValueError as exc:
            raise ManifestError(f"{target.describe()}: {exc}") from None
    if target.experiment and target.filter:
        return RunQuery(target.experiment, target.filter)
    return None


def resolve_rewrite(
    client: MlflowClient,
    files: Sequence[Path],
    options: RewriteOptions,
    progress: Callable[[str], None] = lambda _: None,
) -> RewritePlan:
    """Resolve every targeted Model (collecting failures) and compute the edits; writes nothing."""
    explicit = {model.name: model for model in options.explicit}
    texts = {path: read_text(path) for path in files}
    updates: list[ModelUpdate] = []
    skipped: list[str] = []
    for path, text in texts.items():
        for target in find_models(path, text):
            query = query_of(target, explicit)
            if query is None or not mentions_variant(target, query, options.variants):
                skipped.append(target.name)
                continue
            progress(f"resolving {target.name}: {query.describe()}")
            updates.append(_resolve_one(client, target, query, options.storage_root))
    found = {u.target.name for u in updates} | set(skipped)
    for name in explicit:
        if name not in found:
            raise ManifestError(
                f"the models mapping names Model {name!r}, which none of the files defines",
                hint=f"Models found: {', '.join(sorted(found)) or 'none'}",
            )
    changes = []
    if not any(u.error for u in updates):
        for path, text in texts.items():
            uris = {u.target.document: u.new_uri for u in updates if u.target.file == path and u.new_uri}
            change = rewrite_uris(path, text, uris) if uris else None
            if change is not None and change.changed:
                changes.append(change)
    return RewritePlan(tuple(updates), tuple(changes), tuple(skipped), tuple(texts))


def _resolve_one(
    client: MlflowClient, target: ModelTarget, query: ModelQuery, storage_root: str
) -> ModelUpdate:
    if target.position is None:
        return ModelUpdate(target, query, error=f"{target.describe()} has no spec.storageUri to rewrite")
    try:
        location = locate(client, query)
        verify_mlmodel(client, location)
        new_uri = to_storage_uri(location.artifact_uri, storage_root)
    except MlflowError as exc:
        if isinstance(exc, MlflowUnreachable | MlflowAuthError | MlflowForbidden):
            raise  # the server as a whole refuses us: every other model would fail the same way
        return ModelUpdate(target, query, error=str(exc))
    return ModelUpdate(target, query, location, new_uri)


def write_plan(plan: RewritePlan) -> list[Path]:
    return write_files(plan.changes)


# -- the step -----------------------------------------------------------------------------------------
