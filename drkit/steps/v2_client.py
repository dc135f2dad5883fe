"""A V2 (Open Inference) client as drkit's steps meet a model server: settings, endpoints and the staged walk.

Shared by the kinds that ask a model for predictions (`inference` checks an answer against expectations,
`goldenPredictions` records answers, `predictionParity` replays them), so they declare their endpoint and
request with the same fields, reach the server the same way (a base URL, or a Service through the API
server's proxy) and fail with the same staged, secret-free messages. Each attempt walks the protocol the way
a client meets it: the server is ready (`GET /v2/health/ready`), the model is ready (`GET
/v2/models/NAME/ready`), its metadata reads (`GET /v2/models/NAME`), and `POST /v2/models/NAME/infer` with
the request answers; "not ready yet" stages are marked as waiting so a caller can keep asking.

Header values are never reported, only their names; the values of credential headers (Authorization,
Cookie, names with token/key/secret) are masked out of whatever the server says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from drkit.errors import AdapterError, InternalError
from drkit.http_client import http_request
from drkit.kube import ServiceRef, service_proxy_path
from drkit.kube.errors import redact
from drkit.kube.service_proxy import SCHEMES
from drkit.playbook.fields import (
    AnyValue,
    Bool,
    Duration,
    Field,
    Float,
    Int,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Str,
)
from drkit.playbook.problems import is_secret_name
from drkit.steps.access import Access, service_proxy_access
from drkit.steps.base import StepContext, StepResult, StepStatus
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    list_of,
    opt_bool,
    opt_choice,
    opt_list,
    opt_number,
    opt_str,
    req_str,
    str_map,
)
from drkit.steps.v2 import (
    DATATYPES,
    OutputExpectation,
    Tolerance,
    answer_outputs,
    flatten,
    output_problems,
    request_problems,
    server_error,
)

DEFAULT_TIMEOUT_SECONDS = 5 * 60.0  # a model load takes seconds to minutes
DEFAULT_INTERVAL_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 10.0
SERVER_TEXT_CHARS = 600
CREDENTIAL_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie", "x-api-key"))

Stage = Literal["unreachable", "server-ready", "model-ready", "metadata", "infer", "expectation"]
STAGE_WORDS: Mapping[Stage, str] = {
    "unreachable": "endpoint unreachable",
    "server-ready": "server not ready",
    "model-ready": "model not ready",
    "metadata": "metadata",
    "infer": "infer",
    "expectation": "expectation",
}

_TENSOR = Obj(
    description="One input tensor: name, shape, datatype and data (flat or nested).",
    fields={
        "name": Field(Str(min_length=1), required=True, description="The input's name (see the metadata)."),
        "shape": Field(ListOf(Int(minimum=0), min_items=1), required=True, description="e.g. [2, 4]."),
        "datatype": Field(Str(enum=DATATYPES), required=True, description="FP64, INT64, BYTES, ..."),
        "parameters": Field(MapOf(AnyValue()), description="e.g. {content_type: np}."),
        "data": Field(AnyValue(), required=True, description="The values, flat or nested, row-major."),
    },
)
_REQUEST = Obj(
    description="A V2 inference request, as the JSON body of POST /v2/models/NAME/infer.",
    fields={
        "id": Field(Str(), description="A request id the server echoes."),
        "parameters": Field(MapOf(AnyValue()), description="Request parameters, e.g. {content_type: pd}."),
        "inputs": Field(ListOf(_TENSOR, min_items=1), required=True, description="The input tensors."),
        "outputs": Field(
            ListOf(
                Obj(
                    fields={
                        "name": Field(Str(min_length=1), required=True, description="An output to return."),
                        "parameters": Field(MapOf(AnyValue()), description="Output parameters."),
                    }
                )
            ),
            description="Which outputs to return (default: all).",
        ),
    },
)
_SERVICE = Obj(
    description="A Service reached through the API server's service proxy (needs RBAC on services/proxy).",
    fields={
        "namespace": Field(Str(min_length=1), required=True, description="The Service's namespace."),
        "name": Field(Str(min_length=1), required=True, description="The Service's name, e.g. seldon-mesh."),
        "port": Field(
            OneOf((Int(minimum=1, maximum=65535), Str(min_length=1))),
            required=True,
            description="The Service port: its number or its name.",
        ),
        "scheme": Field(Str(enum=SCHEMES), description="The backend's scheme (default http)."),
    },
)
_TOLERANCE = Obj(
    description="Numbers match when |got - expected| <= absolute + relative * |expected|.",
    fields={
        "absolute": Field(Float(minimum=0.0), description="Absolute tolerance (default 0)."),
        "relative": Field(Float(minimum=0.0), description="Relative tolerance (default 0)."),
    },
)
_OUTPUT = Obj(
    description="One expected output; without `name`, the output at the same position.",
    fields={
        "name": Field(Str(min_length=1), description="The output's name in the answer (e.g. output-1)."),
        "datatype": Field(Str(enum=DATATYPES), description="Its datatype."),
        "shape": Field(ListOf(Int(minimum=0)), description="Its shape, e.g. [2, 1]."),
        "data": Field(AnyValue(), description="Its values, flat or nested: exactly, or within `tolerance`."),
        "tolerance": Field(_TOLERANCE, description="How close numbers must be (default: exactly equal)."),
    },
    requires=(("tolerance", ("data",)),),
)
_EXPECT = Obj(
    description="What a correct answer is (default: any V2 answer with outputs).",
    fields={
        "outputs": Field(ListOf(_OUTPUT, min_items=1), description="The outputs, by name or position."),
        "modelName": Field(
            Str(min_length=1),
            description="The answer's model_name (Seldon answers NAME_VERSION); not compared unless given.",
        ),
        "latency": Field(
            Duration(positive=True), description="The infer request must answer within this (e.g. 500ms)."
        ),
    },
)


# The fields that say where a model is and what to ask it; kinds add their own (expect, interval, ...).
ENDPOINT_FIELDS: Mapping[str, Field] = {
    "url": Field(Str(min_length=1), description="Base URL of the V2 server: an ingress or a port-forward."),
    "service": Field(_SERVICE, description="Or a Service, reached through the API server's proxy."),
    "headers": Field(
        MapOf(Str()), description="Request headers (e.g. Seldon-Model: NAME); values are never reported."
    ),
    "model": Field(Str(min_length=1), required=True, description="The model name in /v2/models/NAME."),
    "version": Field(Str(min_length=1), description="A model version: /v2/models/NAME/versions/V."),
    "request": Field(_REQUEST, description="The inference request, inline."),
    "requestFile": Field(
        Str(min_length=1), description="Or a JSON file holding it, relative to the playbook's directory."
    ),
    "serverReady": Field(
        Bool(),
        description="Check GET /v2/health/ready first (default true); MLServer says 400 there while "
        "any of its models is not ready.",
    ),
    "requestTimeout": Field(
        Duration(minimum_seconds=0.1), description="Timeout of one request (default 10s); url only."
    ),
    "verifyTls": Field(Bool(), description="Verify the server's TLS certificate (default true); url only."),
    "caBundle": Field(Str(), description="CA bundle file, relative to the playbook's directory; url only."),
}
ENDPOINT_ONE_OF: tuple[tuple[str, ...], ...] = (("url", "service"), ("request", "requestFile"))
EXPECT = _EXPECT
INTERVAL_FIELD = Field(
    Duration(minimum_seconds=0.0), description="Pause between attempts (default 2s); steps only."
)


@dataclass(frozen=True)
class InferenceSettings:
    model: str
    request: Mapping[str, object] | None  # None until `request_file` is read (see `with_request`)
    request_file: str | None = None
    url: str | None = None
    service: ServiceRef | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    version: str | None = None
    outputs: tuple[OutputExpectation, ...] = ()
    model_name: str | None = None
    latency: float | None = None
    server_ready: bool = True
    interval: float = DEFAULT_INTERVAL_SECONDS
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    verify_tls: bool = True
    ca_bundle: str | None = None

    @property
    def model_path(self) -> str:
        base = f"v2/models/{quote(self.model, safe='')}"
        return f"{base}/versions/{quote(self.version, safe='')}" if self.version else base

    @property
    def endpoint(self) -> str:
        """Where the model is reached, fit to print: no credentials, no query string."""
        if self.service is not None:
            return f"{self.service} via the API server ({service_proxy_path(self.service)})"
        return shown_url(self.url or "")

    def describe(self) -> str:
        model = f"{self.model}" + (f" version {self.version}" if self.version else "")
        wanted = "; ".join(o.describe() for o in self.outputs) or "any outputs"
        latency = f", within {self.latency * 1000:.0f}ms" if self.latency is not None else ""
        return f"model {model} at {self.endpoint} answers V2 inference: {wanted}{latency}"


def shown_url(url: str) -> str:
    """The URL without user:password@ and without a query string (tokens travel there too)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def parse_settings(body: object, base_dir: Path | None = None) -> InferenceSettings:
    """Typed settings. With `base_dir` a `requestFile` is read and checked now, else by `with_request`.

    The schema's exactly_one_of gives `url` or `service`, and `request` or `requestFile`."""
    data = as_mapping(body, "inference")
    url = opt_str(data, "url")
    if url is not None and not re.match(r"(?i)https?://", url):  # after ${var} substitution, plainly said
        raise StepConfigError(f"`url` {shown_url(url)!r} is not an http:// or https:// URL")
    service = _service(data.get("service"))
    headers = str_map(data, "headers")
    if service is not None:
        _check_service_fields(data, headers)
    expect = as_mapping(data.get("expect") or {}, "inference.expect")
    settings = InferenceSettings(
        model=req_str(data, "model"),
        request=None if data.get("request") is None else _checked(data["request"], "`request`"),
        request_file=opt_str(data, "requestFile"),
        url=url.rstrip("/") if url else None,
        service=service,
        headers=headers,
        version=opt_str(data, "version"),
        outputs=_outputs(expect),
        model_name=opt_str(expect, "modelName"),
        latency=None if expect.get("latency") is None else opt_number(expect, "latency", 0.0),
        server_ready=opt_bool(data, "serverReady", default=True),
        interval=opt_number(data, "interval", DEFAULT_INTERVAL_SECONDS),
        request_timeout=opt_number(data, "requestTimeout", REQUEST_TIMEOUT_SECONDS),
        verify_tls=opt_bool(data, "verifyTls", default=True),
        ca_bundle=opt_str(data, "caBundle"),
    )
    return settings if base_dir is None else with_request(settings, base_dir)


def with_request(settings: InferenceSettings, base_dir: Path) -> InferenceSettings:
    """The settings with the request file read and checked (StepConfigError when it is not a V2 request)."""
    if settings.request is not None or settings.request_file is None:
        return settings
    request = _read_request_file(base_dir / settings.request_file, settings.request_file)
    return replace(settings, request=_checked(request, f"`requestFile` {settings.request_file}"))


def _service(raw: object) -> ServiceRef | None:
    if raw is None:
        return None
    data = as_mapping(raw, "inference.service")  # _SERVICE: namespace, name and port are required
    port = data["port"]
    return ServiceRef(
        namespace=req_str(data, "namespace"),
        name=req_str(data, "name"),
        port=port if isinstance(port, int) else str(port),
        scheme=None if data.get("scheme") is None else opt_choice(data, "scheme", SCHEMES, "http"),
    )


def _check_service_fields(data: Mapping[str, object], headers: Mapping[str, str]) -> None:
    """Fields that mean nothing through the service proxy: a rule across fields, and a header's name."""
    for key in ("verifyTls", "caBundle", "requestTimeout"):
        if key in data:
            raise StepConfigError(
                f"`{key}` applies to `url` only",
                hint="through the service proxy, TLS and timeouts are the kubeconfig's (the API server's)",
            )
    if any(name.lower() == "authorization" for name in headers):
        raise StepConfigError(
            "the API server's proxy removes the Authorization header: the model server would never see it",
            hint="use `url:` (an ingress or a port-forward) for a server that needs its own credentials",
        )


def _checked(request: object, where: str) -> Mapping[str, object]:
    """A request the schema shaped, checked as V2 needs (as many values as the shape holds), as a request
    file must be too."""
    problems = request_problems(request)
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise StepConfigError(
            f"{where} is not a valid V2 inference request: {shown}",
            hint='a request is {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", '
            '"data": [...]}]}, with as many values as the shape holds',
        )
    assert isinstance(request, Mapping)  # request_problems says so
    return request


def _read_request_file(path: Path, written: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StepConfigError(
            f"`requestFile` {written} cannot be read ({exc.strerror or type(exc).__name__})",
            hint="the path is relative to the playbook's directory",
        ) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        where = f"{written}:{exc.lineno}:{exc.colno}" if isinstance(exc, json.JSONDecodeError) else written
        raise StepConfigError(
            f"`requestFile` {where} is not JSON: {getattr(exc, 'msg', str(exc))}",
            hint="the file holds the JSON body of POST /v2/models/NAME/infer",
        ) from exc


def _outputs(expect: Mapping[str, object]) -> tuple[OutputExpectation, ...]:
    result = []
    for item in opt_list(expect, "outputs"):
        out = as_mapping(item, "inference.expect.outputs item")
        tolerance = as_mapping(out.get("tolerance") or {}, "tolerance")
        absolute, relative = (opt_number(tolerance, k, 0.0) for k in ("absolute", "relative"))
        result.append(
            OutputExpectation(
                name=opt_str(out, "name"),
                datatype=opt_str(out, "datatype"),
                shape=None if out.get("shape") is None else list_of(out, "shape", int),
                data=tuple(flatten(out["data"])) if "data" in out else None,
                tolerance=Tolerance(absolute, relative),
            )
        )
    named = [o.name for o in result if o.name]
    if len(named) != len(set(named)):  # a rule across list items, which the schema cannot state
        raise StepConfigError("`expect.outputs` names an output twice")
    return tuple(result)


# --- talking to the server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


class Endpoint(Protocol):
    def send(self, ctx: StepContext, method: str, path: str, body: object) -> Answer:
        """One request to `path` (relative, e.g. `v2/health/ready`); AdapterError when nothing answered."""
        ...


@dataclass(frozen=True)
class UrlEndpoint:
    settings: InferenceSettings

    def send(self, ctx: StepContext, method: str, path: str, body: object) -> Answer:
        s = self.settings
        remaining = ctx.remaining()
        timeout = s.request_timeout if remaining is None else max(0.1, min(s.request_timeout, remaining))
        response = http_request(
            method,
            f"{s.url}/{path}",
            headers=s.headers,
            json_body=body,
            timeout=timeout,
            verify_tls=s.verify_tls,
            ca_bundle=None if s.ca_bundle is None else ctx.base_dir / s.ca_bundle,
        )
        return Answer(response.status, response.text)


@dataclass(frozen=True)
class ServiceEndpoint:
    service: ServiceRef
    headers: Mapping[str, str]

    def send(self, ctx: StepContext, method: str, path: str, body: object) -> Answer:
        # Inference is read-only for the model server: repeating a request the API server dropped is harmless.
        answer = ctx.cluster().proxy(
            method, self.service, path, body=body, headers=self.headers, repeatable=True
        )
        return Answer(answer.status, answer.body.decode("utf-8", "replace"))


def inference_access(settings: InferenceSettings) -> tuple[Access, ...]:
    """Through the API server's service proxy; a plain URL is not the API server and needs no rule."""
    return (service_proxy_access(settings.service.namespace),) if settings.service is not None else ()


def endpoint_for(settings: InferenceSettings) -> Endpoint:
    if settings.service is not None:
        return ServiceEndpoint(settings.service, settings.headers)
    return UrlEndpoint(settings)


@dataclass(frozen=True)
class Outcome:
    """One attempt: the step result, and the stage that failed (None: passed)."""

    result: StepResult
    stage: Stage | None = None
    waiting: bool = False  # a "not ready yet" failure, which the next attempt may well get past
    # The answer's outputs as the server gave them (data included) when the infer request answered 200.
    outputs: tuple[Mapping[str, Any], ...] = ()


class _Failed(Exception):
    def __init__(
        self, stage: Stage, detail: str, *, waiting: bool = False, status: int | None = None
    ) -> None:
        super().__init__(detail)
        self.stage = stage
        self.detail = detail
        self.waiting = waiting
        self.status = status


def attempt_once(settings: InferenceSettings, ctx: StepContext, endpoint: Endpoint | None = None) -> Outcome:
    """Walk the stages once; the first that fails is the verdict. Transport errors are failures too."""
    endpoint = endpoint or endpoint_for(settings)
    details: dict[str, object] = {
        "model": settings.model,
        "endpoint": settings.endpoint,
        "headerNames": sorted(settings.headers),
    }
    prefix = f"model {settings.model!r} at {settings.endpoint}"
    answered: list[Mapping[str, Any]] = []
    try:
        message = _walk(settings, ctx, endpoint, details, answered)
    except _Failed as failed:
        details["stage"] = failed.stage
        details["waiting"] = failed.waiting
        if failed.status is not None:
            details["status"] = failed.status
        text = failed.detail
        waiting = "waiting: " if failed.waiting else ""
        return Outcome(
            StepResult(StepStatus.FAILED, f"{prefix}: {waiting}{STAGE_WORDS[failed.stage]}: {text}", details),
            failed.stage,
            failed.waiting,
            tuple(answered),
        )
    return Outcome(StepResult(StepStatus.SUCCEEDED, f"{prefix} {message}", details), outputs=tuple(answered))


def _walk(
    settings: InferenceSettings,
    ctx: StepContext,
    endpoint: Endpoint,
    details: dict[str, object],
    answered: list[Mapping[str, Any]],
) -> str:
    if settings.server_ready:
        ready = _call(ctx, endpoint, "GET", "v2/health/ready", None, "server-ready")
        if ready.status != 200:
            said = _said(ready, settings.headers)
            raise _Failed(
                "server-ready",
                f"GET /v2/health/ready answered {ready.status}"
                + (" (a model it serves is not ready yet)" if ready.status == 400 else "")
                + said,
                waiting=ready.status in (400, 503),
                status=ready.status,
            )
    model_ready = _call(ctx, endpoint, "GET", f"{settings.model_path}/ready", None, "model-ready")
    if model_ready.status != 200:
        said = _said(model_ready, settings.headers)
        why = {400: " (loading, or failed to load)", 404: " (not loaded on this server)"}.get(
            model_ready.status, ""
        )
        raise _Failed(
            "model-ready",
            f"GET /{settings.model_path}/ready answered {model_ready.status}{why}{said}",
            waiting=model_ready.status in (400, 404, 503),
            status=model_ready.status,
        )
    metadata = _call(ctx, endpoint, "GET", settings.model_path, None, "metadata")
    inputs = _metadata(metadata, settings, details)
    if settings.request is None:
        raise InternalError("the inference request file was not read before the first attempt")
    started = ctx.runtime.monotonic()
    answer = _call(ctx, endpoint, "POST", f"{settings.model_path}/infer", settings.request, "infer")
    latency = ctx.runtime.monotonic() - started
    details["latencySeconds"] = round(latency, 6)
    if answer.status != 200:
        raise _Failed(
            "infer",
            f"POST /{settings.model_path}/infer answered {answer.status}{_said(answer, settings.headers)}"
            + (f" (the model's metadata expects {inputs})" if inputs else ""),
            status=answer.status,
        )
    details["status"] = answer.status
    return _judge(settings, answer, latency, details, answered)


def _call(  # noqa: PLR0917 (private: one request of one stage)
    ctx: StepContext, endpoint: Endpoint, method: str, path: str, body: object, stage: Stage
) -> Answer:
    try:
        return endpoint.send(ctx, method, path, body)
    except AdapterError as exc:
        # Nothing answered, or the API server refused to proxy: the server may still be coming up.
        status = getattr(exc, "status", None)
        waiting = status is None or status in (502, 503)
        raise _Failed(
            "unreachable" if status is None else stage,
            f"{method} /{path}: {exc.message}",
            waiting=waiting,
            status=status,
        ) from None


def _metadata(answer: Answer, settings: InferenceSettings, details: dict[str, object]) -> str:
    """Check the metadata reads; return its inputs, shown (for an infer failure's message)."""
    if answer.status != 200:
        raise _Failed(
            "metadata",
            f"GET /{settings.model_path} answered {answer.status}{_said(answer, settings.headers)}",
            status=answer.status,
        )
    try:
        doc = json.loads(answer.text)
    except ValueError:
        doc = None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("inputs", []), list):
        raise _Failed("metadata", f"GET /{settings.model_path} did not answer V2 model metadata")
    shown = []
    for tensor in doc.get("inputs") or []:
        if isinstance(tensor, Mapping):
            shown.append(f"{tensor.get('name')!r} {tensor.get('datatype')} {tensor.get('shape')}")
    details["metadata"] = {
        "inputs": _tensor_specs(doc.get("inputs")),
        "outputs": _tensor_specs(doc.get("outputs")),
    }
    return ", ".join(shown)


def _tensor_specs(raw: object) -> list[dict[str, object]]:
    if not isinstance(raw, list):
        return []
    return [
        {"name": t.get("name"), "datatype": t.get("datatype"), "shape": t.get("shape")}
        for t in raw
        if isinstance(t, Mapping)
    ]


def _judge(
    settings: InferenceSettings,
    answer: Answer,
    latency: float,
    details: dict[str, object],
    answered: list[Mapping[str, Any]],
) -> str:
    try:
        doc = json.loads(answer.text)
    except ValueError:
        raise _Failed(
            "infer", f"POST /{settings.model_path}/infer answered 200 with something not JSON"
        ) from None
    outputs, why = answer_outputs(doc)
    if outputs is None:
        raise _Failed("infer", f"POST /{settings.model_path}/infer: {why}")
    details["modelName"] = doc.get("model_name")
    answered.extend(outputs)
    details["outputs"] = [
        {"name": o.get("name"), "datatype": o.get("datatype"), "shape": o.get("shape")} for o in outputs
    ]
    problems = output_problems(settings.outputs, outputs)
    if settings.model_name is not None and doc.get("model_name") != settings.model_name:
        problems.insert(0, f"model_name is {doc.get('model_name')!r}, expected {settings.model_name!r}")
    if settings.latency is not None and latency > settings.latency:
        problems.append(f"the infer request took {_ms(latency)}, over the bound of {_ms(settings.latency)}")
    if problems:
        raise _Failed("expectation", "; ".join(problems))
    checked = (
        f"{len(settings.outputs)} expected output(s)" if settings.outputs else f"{len(outputs)} output(s)"
    )
    return f"answered {checked} in {_ms(latency)}"


def _said(answer: Answer, headers: Mapping[str, str]) -> str:
    text = server_error(answer.text)
    if not text:
        return ""
    return f": {_mask(_shorten(text), headers)}"


def _shorten(text: str) -> str:
    """Credentials masked; a long text keeps its end, where a schema error says what is wrong."""
    text = redact(text, limit=10 * SERVER_TEXT_CHARS)
    if len(text) <= SERVER_TEXT_CHARS:
        return text
    head = SERVER_TEXT_CHARS // 3
    return text[:head] + " … " + text[-(SERVER_TEXT_CHARS - head) :]


def _mask(text: str, headers: Mapping[str, str]) -> str:
    """The values of credential headers masked out of what a server said (it may echo a request back)."""
    for name, value in headers.items():
        if (name.lower() in CREDENTIAL_HEADERS or is_secret_name(name)) and len(value) >= 4:
            text = text.replace(value, "****")
            scheme, _, credential = value.partition(" ")
            if credential and len(credential) >= 4 and scheme.isalpha():
                text = text.replace(credential, "****")
    return text


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}ms" if seconds < 10 else f"{seconds:.1f}s"
