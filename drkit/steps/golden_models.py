"""The models a `goldenPredictions` step records and a `predictionParity` step replays, declared once.

Each entry reaches its model with the `inference` item's own endpoint and request fields (`url` or
`service`, `headers`, `model`, `request` or `requestFile`, ...) and may name the serving object whose storage
URI says which MLflow model answered (`modelObject`: a Seldon Model's `spec.storageUri` by default), so a
parity verdict can tell "the same model" from "retrained: m-old → m-new".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from drkit.errors import AdapterError
from drkit.playbook.fields import Field, ListOf, Obj, Str
from drkit.report.reproduction import ModelIdentity
from drkit.reproduction.parity import model_id_of
from drkit.steps.base import StepContext, StepStatus
from drkit.steps.settings import StepConfigError, as_mapping, opt_list, opt_number, opt_str, req_str
from drkit.steps.v2_client import (
    DEFAULT_INTERVAL_SECONDS,
    ENDPOINT_FIELDS,
    ENDPOINT_ONE_OF,
    InferenceSettings,
    Outcome,
    attempt_once,
    parse_settings,
)

GOLDEN_KIND = "goldenPredictions"
GOLDEN_SCHEMA = "drkit.io/golden-predictions/v1"  # the snapshot file's `schema`
SELDON_MODEL = ("mlops.seldon.io/v1alpha1", "Model")
DEFAULT_URI_FIELD = "spec.storageUri"

MODEL_OBJECT = Obj(
    description="The serving object whose storage URI names the MLflow model (default: a Seldon Model).",
    fields={
        "apiVersion": Field(Str(min_length=1), description="Default mlops.seldon.io/v1alpha1."),
        "kind": Field(Str(min_length=1), description="Default Model."),
        "namespace": Field(Str(min_length=1), required=True, description="Its namespace."),
        "name": Field(Str(min_length=1), required=True, description="Its name."),
        "uriField": Field(
            Str(pattern=r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*"),
            description="The dotted path of the URI in the object (default spec.storageUri).",
        ),
    },
)
MODEL_ENTRY = Obj(
    description="One model: where it answers and what to ask it (the `inference` fields), and its object.",
    fields={
        "name": Field(Str(min_length=1), description="How the report calls it (default: `model`)."),
        **ENDPOINT_FIELDS,
        "modelObject": Field(MODEL_OBJECT),
    },
    exactly_one_of=ENDPOINT_ONE_OF,
)
MODELS_FIELD = Field(
    ListOf(MODEL_ENTRY, min_items=1),
    required=True,
    description="The models, asked in order; a server's readiness (`serverReady`) is asked once per server "
    "(endpoint and headers), each model's every time.",
)


@dataclass(frozen=True)
class ModelObject:
    api_version: str
    kind: str
    namespace: str
    name: str
    uri_field: str = DEFAULT_URI_FIELD

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class GoldenModel:
    name: str
    inference: InferenceSettings
    model_object: ModelObject | None = None


@dataclass(frozen=True)
class GoldenSettings:
    models: tuple[GoldenModel, ...]
    interval: float


def parse_golden(body: object) -> GoldenSettings:
    data = as_mapping(body, GOLDEN_KIND)
    return GoldenSettings(parse_models(data), parse_interval(data))


def parse_models(body: Mapping[str, object]) -> tuple[GoldenModel, ...]:
    models = []
    for index, item in enumerate(opt_list(body, "models"), start=1):
        entry = dict(as_mapping(item, f"models item {index}"))
        name = opt_str(entry, "name")
        model_object = _model_object(entry.pop("modelObject", None))
        entry.pop("name", None)
        try:
            settings = parse_settings(entry)
        except StepConfigError as exc:
            raise StepConfigError(f"model {index}: {exc.message}", hint=exc.hint) from None
        models.append(GoldenModel(name or settings.model, settings, model_object))
    names = [m.name for m in models]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # a rule across list items, which the schema cannot state
        raise StepConfigError(
            f"model name(s) {', '.join(twice)} given twice", hint="give each entry its own `name:`"
        )
    return tuple(models)


def parse_interval(body: Mapping[str, object]) -> float:
    return opt_number(body, "interval", DEFAULT_INTERVAL_SECONDS)


def _model_object(raw: object) -> ModelObject | None:
    if raw is None:
        return None
    data = as_mapping(raw, "modelObject")  # MODEL_OBJECT: namespace and name are required
    return ModelObject(
        api_version=opt_str(data, "apiVersion") or SELDON_MODEL[0],
        kind=opt_str(data, "kind") or SELDON_MODEL[1],
        namespace=req_str(data, "namespace"),
        name=req_str(data, "name"),
        uri_field=opt_str(data, "uriField") or DEFAULT_URI_FIELD,
    )


def read_identity(ctx: StepContext, model_object: ModelObject | None) -> tuple[ModelIdentity, str]:
    """Which model the object points at, and a note when that could not be read (never raises)."""
    if model_object is None:
        return ModelIdentity(None, None), ""
    source = str(model_object)
    try:
        obj = ctx.cluster().get(
            model_object.api_version, model_object.kind, model_object.name, model_object.namespace
        )
    except AdapterError as exc:
        return ModelIdentity(None, None, source), f"cannot read {source}: {exc.message}"
    if obj is None:
        return ModelIdentity(None, None, source), f"{source} does not exist"
    value: Any = obj
    for part in model_object.uri_field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if not isinstance(value, str) or not value:
        return ModelIdentity(None, None, source), f"{source} has no {model_object.uri_field}"
    return ModelIdentity(value, model_id_of(value), source), ""


def ask_until_answered(settings: InferenceSettings, ctx: StepContext, interval: float) -> Outcome:
    """One V2 walk, repeated while the model is not ready yet and the step's deadline allows."""
    while True:
        outcome = attempt_once(settings, ctx)
        if outcome.result.status is StepStatus.SUCCEEDED or not outcome.waiting:
            return outcome
        ctx.progress(outcome.result.message)
        remaining = ctx.remaining()
        if remaining is not None and remaining <= 0:
            return outcome
        ctx.runtime.sleep(interval if remaining is None else min(interval, remaining))


class ServerReadiness:
    """Which servers a step has found ready. A V2 server's `/v2/health/ready` speaks for every model it
    serves, so a step asks it once per server (an endpoint with its headers: a mesh routes by them) and then
    only each further model's own readiness."""

    def __init__(self) -> None:
        self._ready: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    def ask_until_answered(self, settings: InferenceSettings, ctx: StepContext, interval: float) -> Outcome:
        server = (settings.endpoint, tuple(sorted(settings.headers.items())))
        known = settings.server_ready and server in self._ready
        asked = replace(settings, server_ready=False) if known else settings
        outcome = ask_until_answered(asked, ctx, interval)
        if settings.server_ready and outcome.result.status is StepStatus.SUCCEEDED:
            self._ready.add(server)
        return outcome


def recorded_outputs(outputs: tuple[Mapping[str, Any], ...]) -> list[dict[str, object]]:
    """The answer's tensors as a snapshot keeps them: name, datatype, shape, data (parameters dropped)."""
    return [
        {"name": o.get("name"), "datatype": o.get("datatype"), "shape": o.get("shape"), "data": o.get("data")}
        for o in outputs
    ]
