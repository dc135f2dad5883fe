"""The `modelUris` step: point each Seldon Model's spec.storageUri at the model MLflow really holds.

Seed 003 spent its trial and error here: after retraining, the models live under new ids, and the manifests
must name the directory that holds the MLmodel file. For each Model that opts in (annotations, or the
playbook's `models` mapping), this finds the newest matching run (or registered version), checks the MLmodel
file is there, and rewrites the manifest with a minimal edit. Every model is resolved before any file is
written, and files change all together or not at all. plan() makes the same MLflow reads and shows the diff.

`resolve_rewrite` is shared with `drkit models rewrite` (drkit.engine.models).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drkit.errors import DrkitError, StepFailure
from drkit.manifests import (
    FileChange,
    ManifestError,
    ModelTarget,
    expand_paths,
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
    MlflowSettings,
    MlflowUnreachable,
    ModelLocation,
    ModelQuery,
    RunQuery,
    locate,
    parse_registered,
    to_storage_uri,
    verify_mlmodel,
)
from drkit.mlflow.client import Auth
from drkit.playbook.fields import Bool, Duration, Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import StepSpec
from drkit.steps.access import APPLY, AccessScope, StepAccess, of_manifests
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.settings import StepConfigError, as_mapping, opt_bool, opt_number, opt_str
from drkit.steps.sources import Source, plain_json, render

DEFAULT_STORAGE_ROOT = "s3://mlflow-artifacts/"
DEFAULT_TIMEOUT_SECONDS = 120.0
UNREACHABLE_RETRY_SECONDS = 2.0  # between attempts while MLflow does not answer at all

_MLFLOW = Obj(
    description="The MLflow tracking server to ask.",
    fields={
        "url": Field(
            Str(min_length=1), required=True, description="http(s)://host:port of the tracking server."
        ),
        "auth": Field(
            Str(enum=("env", "none")),
            description="env: MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN (default); none.",
        ),
        "caBundle": Field(Str(), description="CA bundle file, relative to the playbook's directory."),
        "verifyTls": Field(Bool(), description="Verify the server's TLS certificate (default true)."),
        "requestTimeout": Field(Duration(positive=True), description="Timeout of one request (default 10s)."),
    },
)
_MODEL = Obj(
    description="Where to find the model of one Model (by metadata.name); overrides its annotations.",
    fields={
        "name": Field(Str(min_length=1), required=True, description="metadata.name of the Model."),
        "experiment": Field(Str(min_length=1), description="MLflow experiment name."),
        "filter": Field(Str(min_length=1), description="MLflow run filter, e.g. params.model_variant = 'x'."),
        "registeredModel": Field(
            Str(min_length=1), description="A registered model: name@alias or name/version."
        ),
    },
    exactly_one_of=(("experiment", "registeredModel"),),
)
SCHEMA = KindSchema(
    kind="modelUris",
    body=Obj(
        description="Models take part through drkit.io/mlflow-experiment (+ drkit.io/mlflow-filter) or "
        "drkit.io/mlflow-model annotations, or an entry in `models`.",
        fields={
            "mlflow": Field(_MLFLOW, required=True, description="The tracking server."),
            "storageRoot": Field(
                Str(min_length=1),
                description="What mlflow-artifacts:/ stands for on the model servers (default s3://mlflow-artifacts/).",
            ),
            "files": Field(
                ListOf(Str(min_length=1), min_items=1),
                required=True,
                description="Manifest files, directories or globs with the Models, relative to the playbook.",
            ),
            "variants": Field(
                ListOf(Str(min_length=1)),
                description="Only these variants: quoted in a Model's filter or part of its name.",
            ),
            "models": Field(
                ListOf(_MODEL),
                description="Where to find each named Model's model, overriding its annotations.",
            ),
            "apply": Field(
                Bool(), description="Also server-side apply the rewritten Models (default false)."
            ),
        },
    ),
    description="Find each Model's newest model in MLflow, check its MLmodel, rewrite storageUri atomically.",
    examples=(
        {
            "mlflow": {"url": "http://mlflow.mlflow:5000", "auth": "env"},
            "storageRoot": "s3://mlflow-artifacts/",
            "files": ["manifests/financial-mlops/base/seldon-models.yaml"],
            "variants": ["baseline", "enhanced"],
        },
    ),
)


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


@dataclass(frozen=True)
class ModelUrisSettings:
    url: str
    auth: Auth = "env"
    ca_bundle: str | None = None
    verify_tls: bool = True
    request_timeout: float = 10.0
    files: tuple[str, ...] = ()
    options: RewriteOptions = field(default_factory=RewriteOptions)
    apply: bool = False


def parse_settings(body: object) -> ModelUrisSettings:
    data = as_mapping(body, "modelUris")
    mlflow = as_mapping(data.get("mlflow"), "modelUris.mlflow")
    url = opt_str(mlflow, "url")
    if not url or not re.match(r"(?i)https?://", url):
        raise StepConfigError(f"`mlflow.url` {url!r} is not an http:// or https:// URL")
    auth = opt_str(mlflow, "auth") or "env"
    if auth not in ("env", "none"):
        raise StepConfigError("`mlflow.auth` must be env or none")
    explicit = tuple(_explicit(item) for item in _list(data.get("models"), "models"))
    return ModelUrisSettings(
        url=url,
        auth="none" if auth == "none" else "env",
        ca_bundle=opt_str(mlflow, "caBundle"),
        verify_tls=opt_bool(mlflow, "verifyTls", default=True),
        request_timeout=opt_number(mlflow, "requestTimeout", 10.0),
        files=tuple(str(f) for f in _list(data.get("files"), "files")),
        options=RewriteOptions(
            storage_root=opt_str(data, "storageRoot") or DEFAULT_STORAGE_ROOT,
            variants=tuple(str(v) for v in _list(data.get("variants"), "variants")),
            explicit=explicit,
        ),
        apply=opt_bool(data, "apply", default=False),
    )


def _list(value: object, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise StepConfigError(f"`{key}` must be a list")
    return list(value)


def _explicit(item: object) -> ExplicitModel:
    data = as_mapping(item, "modelUris.models item")
    name = opt_str(data, "name") or ""
    registered = opt_str(data, "registeredModel")
    if registered:
        try:
            return ExplicitModel(name, parse_registered(registered))
        except ValueError as exc:
            raise StepConfigError(str(exc)) from None
    experiment, run_filter = opt_str(data, "experiment"), opt_str(data, "filter")
    if not experiment or not run_filter:
        raise StepConfigError(f"model {name!r} needs experiment and filter, or registeredModel")
    return ExplicitModel(name, RunQuery(experiment, run_filter))


class ModelUrisStep:
    def __init__(self, spec: StepSpec, settings: ModelUrisSettings) -> None:
        self.spec = spec
        self.settings = settings

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Only with `apply`: the rewritten Model manifests are applied. MLflow is not the API server."""
        if not self.settings.apply:
            return StepAccess()
        source = Source(files=self.settings.files)
        manifests = render(source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)
        return of_manifests(manifests, APPLY, scope)

    def _client(self, ctx: StepContext) -> MlflowClient:
        ca = None if self.settings.ca_bundle is None else ctx.base_dir / self.settings.ca_bundle
        settings = MlflowSettings(
            self.settings.url,
            auth=self.settings.auth,
            verify_tls=self.settings.verify_tls,
            ca_bundle=ca,
            timeout=self.settings.request_timeout,
        )
        return MlflowClient(settings, ctx.runtime.env, ctx.runtime.sleep, ctx.on_retry)

    def _resolve(self, ctx: StepContext) -> RewritePlan:
        files = expand_paths(list(self.settings.files), ctx.base_dir)
        with self._client(ctx) as client:
            return resolve_rewrite(client, files, self.settings.options, ctx.progress)

    def _resolve_while_unreachable(self, ctx: StepContext) -> RewritePlan:
        """An MLflow that does not answer (a restarting pod, a network blip longer than the client's
        retries) is waited for until the step's deadline, visibly; any other failure is final at once."""
        while True:
            try:
                return self._resolve(ctx)
            except MlflowUnreachable as exc:
                remaining = ctx.remaining()
                if remaining is not None and remaining <= UNREACHABLE_RETRY_SECONDS:
                    raise
                ctx.progress(f"{exc.message}; trying again in {UNREACHABLE_RETRY_SECONDS:g}s")
                ctx.runtime.sleep(UNREACHABLE_RETRY_SECONDS)

    def plan(self, ctx: StepContext) -> StepPlan:
        plan = self._resolve(ctx)
        actions = [f"{u.target.name}: {u.error}" for u in plan.failures]
        actions += [
            f"{u.target.name}: {u.target.storage_uri} -> {u.new_uri}" for u in plan.updates if u.changed
        ]
        actions += [line for change in plan.changes for line in change.diff().splitlines()]
        if self.settings.apply:
            actions.append(f"would apply {len(plan.updates)} Model(s)")
        summary = (
            f"would rewrite {sum(u.changed for u in plan.updates)} of {len(plan.updates)} Model "
            f"storageUri(s) in {len(plan.changes)} file(s)"
        )
        return StepPlan(summary, tuple(actions), destructive=bool(plan.changes) or self.settings.apply)

    def run(self, ctx: StepContext) -> StepResult:
        try:
            plan = self._resolve_while_unreachable(ctx)
        except DrkitError as exc:
            return StepResult(StepStatus.FAILED, str(exc))
        details: dict[str, object] = dict(plan.details())
        if plan.failures:
            names = ", ".join(u.target.name for u in plan.failures)
            first = plan.failures[0].error or ""
            return StepResult(
                StepStatus.FAILED, f"cannot resolve {names}; no file was changed: {first}", details
            )
        if not plan.updates:
            return StepResult(StepStatus.FAILED, "no Model opted in (annotations or `models`)", details)
        try:
            written = write_plan(plan)
        except ManifestError as exc:
            return StepResult(StepStatus.FAILED, str(exc), details)
        details["diff"] = plan.diff()
        message = (
            f"rewrote {sum(u.changed for u in plan.updates)} storageUri(s) in {len(written)} file(s)"
            if written
            else f"all {len(plan.updates)} storageUri(s) already right"
        )
        if self.settings.apply:
            applied = _apply_models(ctx, plan)
            message += f"; applied {applied} Model(s)"
        return StepResult(StepStatus.SUCCEEDED, message, details)


def _apply_models(ctx: StepContext, plan: RewritePlan) -> int:
    from drkit.manifests.models import load_documents  # noqa: PLC0415 (only when applying)

    wanted = {(u.target.file, u.target.document) for u in plan.updates}
    cluster = ctx.cluster()
    count = 0
    for path in plan.files:
        for index, doc in enumerate(load_documents(path, read_text(path))):
            if (path, index) in wanted:
                try:
                    cluster.apply(plain_json(doc))
                except DrkitError as exc:
                    raise StepFailure(
                        f"cannot apply Model {doc['metadata'].get('name')}: {exc.message}"
                    ) from exc
                count += 1
    return count


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: ModelUrisStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
)
