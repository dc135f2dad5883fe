"""The `http` step and checklist item: an HTTP endpoint answers as expected.

As a step it keeps asking until the endpoint passes or the step's deadline passes (a service that is still
coming up is the normal case during a recovery); as a checklist item each attempt is a single request,
because the checklist runner does the repeating. Header values and response bodies can carry credentials, so
details hold header names only and a short, redacted excerpt of the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from drkit.errors import AdapterError
from drkit.http_client import HttpResponse, http_request
from drkit.playbook.fields import (
    AnyValue,
    Bool,
    Duration,
    Field,
    Int,
    KindSchema,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Str,
)
from drkit.playbook.model import Playbook, StepSpec
from drkit.steps.base import (
    ProbeKind,
    StepContext,
    StepKind,
    StepPlan,
    StepResult,
    StepStatus,
    retry_until_deadline,
)
from drkit.steps.jsonpath import JsonPathError, compile_path, evaluate
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    compile_regex,
    list_of,
    opt_bool,
    opt_int,
    opt_list,
    opt_number,
    opt_str,
    req_str,
    str_map,
)

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_INTERVAL_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 10.0
BODY_EXCERPT_CHARS = 300
METHODS = ("GET", "POST", "PUT", "HEAD", "DELETE")

_JSON_ASSERTION = Obj(
    description="An assertion on the JSON answer: `equals`, `exists` or `matches` at `path`.",
    fields={
        "path": Field(
            Str(pattern=r"\$.*"),
            required=True,
            description="A JSON path into the answer: `$.a.b[0]`, `$.items[*].name`.",
        ),
        "equals": Field(AnyValue(), description="Every value at the path equals this."),
        "exists": Field(Bool(), description="Something is (true) or nothing is (false) at the path."),
        "matches": Field(Str(), description="Every value at the path, as text, contains this regex."),
    },
    exactly_one_of=(("equals", "exists", "matches"),),
)

BODY = Obj(
    description="Send an HTTP request and check the answer.",
    fields={
        "url": Field(Str(min_length=1), required=True, description="The URL to request."),
        "method": Field(Str(enum=METHODS), description="HTTP method (default GET)."),
        "headers": Field(MapOf(Str()), description="Request headers; values are never reported."),
        "body": Field(AnyValue(), description="A JSON request body."),
        "expect": Field(
            Obj(
                fields={
                    "status": Field(
                        OneOf(
                            (
                                Int(minimum=100, maximum=599),
                                ListOf(Int(minimum=100, maximum=599), min_items=1),
                            )
                        ),
                        description="Accepted status code or codes (default 200).",
                    ),
                    "json": Field(ListOf(_JSON_ASSERTION), description="Assertions on the JSON answer."),
                    "bodyContains": Field(Str(), description="Text the answer must contain."),
                }
            ),
            description="What counts as a good answer (default: status 200).",
        ),
        "interval": Field(
            Duration(minimum_seconds=0.0), description="Pause between attempts (default 2s); steps only."
        ),
        "requestTimeout": Field(
            Duration(minimum_seconds=0.1), description="Timeout of one request (default 10s)."
        ),
        "verifyTls": Field(Bool(), description="Verify the server's TLS certificate (default true)."),
        "caBundle": Field(Str(), description="CA bundle file, relative to the playbook's directory."),
    },
)

SCHEMA = KindSchema(
    kind="http",
    body=BODY,
    description="Request a URL until it answers with the expected status and content.",
    examples=(
        {"url": "http://mlflow.example:5000/health", "expect": {"status": 200, "bodyContains": "OK"}},
        {"url": "http://svc/status", "expect": {"json": [{"path": "$.status", "equals": "ready"}]}},
    ),
)


@dataclass(frozen=True)
class JsonAssertion:
    path: str
    check: Literal["equals", "exists", "matches"]
    expected: object

    def failure(self, document: object) -> str | None:
        """Why the document fails this assertion, or None when it passes."""
        values = evaluate(self.path, document)
        if self.check == "exists":
            if bool(values) != bool(self.expected):
                return f"{self.path} {'is missing' if self.expected else 'exists'}"
            return None
        if not values:
            return f"{self.path} is missing"
        if self.check == "equals":
            wrong = next((v for v in values if v != self.expected), _MISSING)
            if wrong is not _MISSING:
                return f"{self.path} is {_show(wrong)}, expected {_show(self.expected)}"
            return None
        pattern = re.compile(str(self.expected))
        wrong = next((v for v in values if not pattern.search(_as_text(v))), _MISSING)
        if wrong is not _MISSING:
            return f"{self.path} is {_show(wrong)}, which does not match /{pattern.pattern}/"
        return None


_MISSING = object()
_CHECKS: tuple[Literal["equals", "exists", "matches"], ...] = ("equals", "exists", "matches")


@dataclass(frozen=True)
class HttpSettings:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    statuses: tuple[int, ...] = (200,)
    json: tuple[JsonAssertion, ...] = ()
    body_contains: str | None = None
    interval: float = DEFAULT_INTERVAL_SECONDS
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    verify_tls: bool = True
    ca_bundle: str | None = None

    def describe(self) -> str:
        wanted = "/".join(str(s) for s in self.statuses)
        return f"{self.method} {self.url} answers {wanted}"


def parse_settings(body: object) -> HttpSettings:
    data = as_mapping(body, "http")
    url = req_str(data, "url")
    if not re.match(r"(?i)https?://", url):  # checked after ${var} substitution, with a plainer message
        raise StepConfigError(f"`url` {url!r} is not an http:// or https:// URL")
    expect = as_mapping(data.get("expect") or {}, "http.expect")
    one_status = not isinstance(expect.get("status"), list)
    return HttpSettings(
        url=url,
        method=opt_str(data, "method") or "GET",
        headers=str_map(data, "headers"),
        body=data.get("body"),
        statuses=(opt_int(expect, "status", 200),) if one_status else list_of(expect, "status", int),
        json=tuple(_parse_assertion(item) for item in opt_list(expect, "json")),
        body_contains=opt_str(expect, "bodyContains"),
        interval=opt_number(data, "interval", DEFAULT_INTERVAL_SECONDS),
        request_timeout=opt_number(data, "requestTimeout", REQUEST_TIMEOUT_SECONDS),
        verify_tls=opt_bool(data, "verifyTls", default=True),
        ca_bundle=opt_str(data, "caBundle"),
    )


def _parse_assertion(item: object) -> JsonAssertion:
    data = as_mapping(item, "http.expect.json item")
    path = req_str(data, "path")
    try:  # the schema's pattern only sees the leading `$`
        compile_path(path)
    except JsonPathError as exc:
        raise StepConfigError(
            str(exc), hint="write paths like $.status, $.items[0].name, $.items[*].ready"
        ) from exc
    check = next(key for key in _CHECKS if key in data)  # the schema's exactly_one_of
    if check == "matches":
        compile_regex(opt_str(data, "matches"), "matches")
    return JsonAssertion(path=path, check=check, expected=data[check])


def attempt_once(settings: HttpSettings, ctx: StepContext) -> StepResult:
    """One request, judged against the expectations. Transport errors are failures, not exceptions."""
    remaining = ctx.remaining()
    timeout = (
        settings.request_timeout if remaining is None else max(0.1, min(settings.request_timeout, remaining))
    )
    ca_bundle = None if settings.ca_bundle is None else ctx.base_dir / settings.ca_bundle
    details: dict[str, object] = {
        "url": settings.url,
        "method": settings.method,
        "headerNames": sorted(settings.headers),
    }
    try:
        response = http_request(
            settings.method,
            settings.url,
            headers=settings.headers,
            json_body=settings.body,
            timeout=timeout,
            verify_tls=settings.verify_tls,
            ca_bundle=ca_bundle,
        )
    except AdapterError as exc:
        return StepResult(StepStatus.FAILED, exc.message, details)
    details["status"] = response.status
    details["bodyExcerpt"] = excerpt(ctx.runtime.secrets.mask(response.text))  # masked before it is cut
    problem = judge(settings, response)
    if problem is not None:
        return StepResult(StepStatus.FAILED, f"{settings.method} {settings.url}: {problem}", details)
    return StepResult(
        StepStatus.SUCCEEDED, f"{settings.method} {settings.url} answered {response.status}", details
    )


def judge(settings: HttpSettings, response: HttpResponse) -> str | None:
    """Why the response does not meet the expectations, or None when it does."""
    if response.status not in settings.statuses:
        wanted = " or ".join(str(s) for s in settings.statuses)
        return f"status {response.status}, expected {wanted}"
    if settings.body_contains is not None and settings.body_contains not in response.text:
        return f"the answer does not contain {settings.body_contains!r}"
    if settings.json:
        try:
            document = json.loads(response.text)
        except ValueError:
            return "the answer is not JSON"
        for assertion in settings.json:
            failure = assertion.failure(document)
            if failure is not None:
                return failure
    return None


_SECRET_FIELD = re.compile(
    r"""(?ix)("?(?:password|passwd|secret|token|api[_-]?key|authorization|credential|private[_-]?key)\w*"?
    \s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}&]+)"""
)


def excerpt(text: str) -> str:
    """The first BODY_EXCERPT_CHARS characters of an answer, with credential-looking fields masked."""
    masked = _SECRET_FIELD.sub(lambda m: m.group(1) + "****", text)
    return masked if len(masked) <= BODY_EXCERPT_CHARS else masked[:BODY_EXCERPT_CHARS] + "…"


def _show(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class HttpStep:
    def __init__(self, spec: StepSpec, settings: HttpSettings) -> None:
        self.spec = spec
        self.settings = settings

    def plan(self, ctx: StepContext) -> StepPlan:
        return StepPlan(summary=f"would wait until {self.settings.describe()}")

    def run(self, ctx: StepContext) -> StepResult:
        return retry_until_deadline(ctx, lambda c: attempt_once(self.settings, c), self.settings.interval)


class HttpProbe:
    def __init__(self, name: str, settings: HttpSettings) -> None:
        self.name = name
        self.settings = settings

    def describe(self) -> str:
        return self.settings.describe()

    def attempt(self, ctx: StepContext) -> StepResult:
        return attempt_once(self.settings, ctx)


def _build_probe(name: str, body: object, playbook: Playbook) -> HttpProbe:
    return HttpProbe(name, parse_settings(body))


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: HttpStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
)
PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe)
