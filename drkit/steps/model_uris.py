"""The `modelUris` step: point each Seldon Model's spec.storageUri at the model MLflow really holds.

Seed 003 spent its trial and error here: after retraining, the models live under new ids, and the manifests
must name the directory that holds the MLmodel file. For each Model that opts in (annotations, or the
playbook's `models` mapping), this finds the newest matching run (or registered version), checks the MLmodel
file is there, and rewrites the manifest with a minimal edit. Every model is resolved before any file is
written, and files change all together or not at all. plan() makes the same MLflow reads and shows the diff.

The resolution is the domain's (drkit.domain.model_resolution), shared with `drkit models rewrite`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from drkit.domain.model_resolution import (
    DEFAULT_STORAGE_ROOT,
    ExplicitModel,
    RewriteOptions,
    RewritePlan,
    resolve_rewrite,
    write_plan,
)
from drkit.errors import DrkitError, StepFailure
from drkit.manifests import (
    ManifestError,
    expand_paths,
    read_text,
)
from drkit.mlflow import (
    MlflowClient,
    MlflowSettings,
    MlflowUnreachable,
    RunQuery,
    parse_registered,
)
from drkit.mlflow.client import AUTH_MODES, Auth
from drkit.playbook.fields import Bool, Duration, Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import StepSpec
from drkit.steps.access import APPLY, AccessScope, StepAccess, of_manifests
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.results import ModelUriRewrite
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    opt_bool,
    opt_choice,
    opt_list,
    opt_number,
    opt_str,
    req_str,
    str_list,
)
from drkit.steps.sources import Source, plain_json, render

DEFAULT_TIMEOUT_SECONDS = 120.0
UNREACHABLE_RETRY_SECONDS = 2.0  # between attempts while MLflow does not answer at all

_MLFLOW = Obj(
    description="The MLflow tracking server to ask.",
    fields={
        "url": Field(
            Str(min_length=1), required=True, description="http(s)://host:port of the tracking server."
        ),
        "auth": Field(
            Str(enum=AUTH_MODES),
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
    requires=(("experiment", ("filter",)),),
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
    url = req_str(mlflow, "url")
    if not re.match(r"(?i)https?://", url):  # checked after ${var} substitution, with a plainer message
        raise StepConfigError(f"`mlflow.url` {url!r} is not an http:// or https:// URL")
    return ModelUrisSettings(
        url=url,
        auth=opt_choice(mlflow, "auth", AUTH_MODES, "env"),
        ca_bundle=opt_str(mlflow, "caBundle"),
        verify_tls=opt_bool(mlflow, "verifyTls", default=True),
        request_timeout=opt_number(mlflow, "requestTimeout", 10.0),
        files=str_list(data, "files"),
        options=RewriteOptions(
            storage_root=opt_str(data, "storageRoot") or DEFAULT_STORAGE_ROOT,
            variants=str_list(data, "variants"),
            explicit=tuple(_explicit(item) for item in opt_list(data, "models")),
        ),
        apply=opt_bool(data, "apply", default=False),
    )


def _explicit(item: object) -> ExplicitModel:
    data = as_mapping(item, "modelUris.models item")  # name required; experiment (with filter) or registered
    name = req_str(data, "name")
    registered = opt_str(data, "registeredModel")
    if registered is None:
        return ExplicitModel(name, RunQuery(req_str(data, "experiment"), req_str(data, "filter")))
    try:  # the name@alias / name/version grammar is parse_registered's
        return ExplicitModel(name, parse_registered(registered))
    except ValueError as exc:
        raise StepConfigError(str(exc)) from None


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
    result=ModelUriRewrite.from_details,
)
