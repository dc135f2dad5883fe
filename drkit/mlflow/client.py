"""The HTTP side of the MLflow adapter: one session, credentials, TLS, retries and error translation.

Everything else in drkit.mlflow (and drkit.mlflow.artifacts) talks to the server through `MlflowClient`'s
`get_json` / `post_json` / `get_raw` / `search`. Paths without a leading slash are relative to the tracking
API (`runs/search` -> `/ajax-api/2.0/mlflow/runs/search`); paths with one are taken from the server root
(`/ajax-api/2.0/mlflow-artifacts/artifacts`). The ajax routes answer exactly like `/api/2.0/...` and are the
ones reverse proxies in front of the UI usually let through (seed 003).

The session does not trust the process environment (`trust_env = False`): requests would otherwise replace
an explicit `verify=True` with `REQUESTS_CA_BUNDLE` (requests #3829) and read proxies behind our back.
Credentials, CA bundle and proxies come from the Runtime's env instead, where tests can set them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from drkit.mlflow.errors import (
    MlflowApiError,
    MlflowAuthError,
    MlflowError,
    MlflowForbidden,
    MlflowHostRejected,
    MlflowNotFound,
    MlflowUnreachable,
)
from drkit.retries import RetryListener, RetryNotice

TRACKING_PREFIX = "/ajax-api/2.0/mlflow/"
BODY_EXCERPT_CHARS = 300
DEFAULT_MAX_RAW_BYTES = 64 * 1024 * 1024
SEARCH_PAGE_SIZE = 1000

Auth = Literal["env", "none"]
AUTH_MODES: tuple[Auth, ...] = ("env", "none")

# The environment variables the client reads credentials from; the last two hold secrets (SECRET_ENV_VARS):
# the engine registers their values for masking from this tuple, so there is no second list to forget.
USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"  # noqa: S105 - the variable's name, not a password
TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"  # noqa: S105 - the variable's name, not a token
SECRET_ENV_VARS = (PASSWORD_ENV, TOKEN_ENV)

CREDENTIALS_HINT = f"set {USERNAME_ENV}/{PASSWORD_ENV} or {TOKEN_ENV}"


@dataclass(frozen=True)
class MlflowRetryPolicy:
    """How often and how patiently to repeat a request that failed in a way that may pass (data, not code)."""

    attempts: int = 4  # the first attempt included
    base_delay: float = 0.5  # seconds before the first retry; doubles each time
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # whatever Retry-After says, never wait longer
    retry_on: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("MlflowRetryPolicy.attempts must be at least 1")


@dataclass(frozen=True)
class MlflowSettings:
    base_url: str  # http(s)://host:port[/prefix] of the tracking server
    auth: Auth = "env"  # env: HTTP Basic or bearer token from MLFLOW_TRACKING_* in the Runtime env
    verify_tls: bool = True
    ca_bundle: Path | None = None  # CA file for a server with a private CA
    timeout: float = 10.0  # seconds per request
    retry: MlflowRetryPolicy = field(default_factory=MlflowRetryPolicy)


def display_url(url: str) -> str:
    """The URL without any user:password@ part, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT_CHARS else text[:BODY_EXCERPT_CHARS] + "…"


class MlflowClient:
    """A session with one MLflow tracking server. Use as a context manager (it closes its connections)."""

    def __init__(
        self,
        settings: MlflowSettings,
        env: Mapping[str, str],
        sleep: Callable[[float], None],
        on_retry: RetryListener | None = None,
    ) -> None:
        parts = urlsplit(settings.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MlflowError(
                f"MLflow URL {display_url(settings.base_url)!r} is not an http:// or https:// URL",
                hint="give the tracking server's address, e.g. http://mlflow.example:5000",
            )
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.display_url = display_url(self.base_url)
        self._sleep = sleep
        self._on_retry = on_retry
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.proxies.update(_proxies_for(parts.scheme, parts.hostname, env))
        self._verify = _verify_setting(settings, env)
        self._auth_headers, self.auth_kind = _auth_headers(settings.auth, env)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> MlflowClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the public surface ----------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return _as_object(self._request("GET", path, params=params), "GET", path)

    def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a JSON body. Only for read-like calls (searches): it is retried like a GET."""
        return _as_object(self._request("POST", path, body=body), "POST", path)

    def get_raw(
        self, path: str, params: Mapping[str, str] | None = None, max_bytes: int = DEFAULT_MAX_RAW_BYTES
    ) -> bytes:
        """The raw answer (an artifact file); refuses answers longer than max_bytes."""
        return self._request("GET", path, params=params, max_bytes=max_bytes)

    def search(self, path: str, body: Mapping[str, Any], key: str, limit: int | None = None) -> Iterator[Any]:
        """Items under `key` of every page of a POST search (`next_page_token`); `{}` means no items."""
        token: str | None = None
        seen = 0
        while True:
            page_body = dict(body)
            page_body.setdefault("max_results", SEARCH_PAGE_SIZE)
            if token:
                page_body["page_token"] = token
            answer = self.post_json(path, page_body)
            for item in answer.get(key) or []:
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            token = answer.get("next_page_token") or None
            if not token:
                return

    # -- plumbing --------------------------------------------------------------------------------

    def url_of(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else TRACKING_PREFIX + path)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        max_bytes: int = DEFAULT_MAX_RAW_BYTES,
    ) -> bytes:
        policy = self.settings.retry
        retrying = Retrying(
            stop=stop_after_attempt(policy.attempts),
            wait=lambda state: _delay(policy, state),
            retry=retry_if_exception(lambda exc: _retryable(policy, exc)),
            sleep=self._sleep,
            before_sleep=lambda state: self._retrying(state, f"MLflow {method} {path}"),
            reraise=True,
        )
        result: bytes = retrying(self._send_once, method, path, params, body, max_bytes)
        return result

    def _retrying(self, state: RetryCallState, operation: str) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if self._on_retry is None or not isinstance(error, MlflowError):
            return
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        cause = f"HTTP {error.status}" if error.status is not None else "no answer"
        attempts = self.settings.retry.attempts
        self._on_retry(RetryNotice(operation, state.attempt_number, attempts, delay, cause, error))

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        max_bytes: int,
    ) -> bytes:
        url = self.url_of(path)
        shown = f"MLflow {method} {self.display_url}{urlsplit(url).path}"
        headers = {"Accept": "application/json", **self._auth_headers}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"  # MLflow refuses POST bodies without it
            data = json.dumps(body)
        try:
            response = self._session.request(
                method,
                url,
                params=dict(params or {}),
                data=data,
                headers=headers,
                timeout=self.settings.timeout,
                verify=self._verify,
                stream=True,
                allow_redirects=False,
            )
        except requests.exceptions.SSLError as exc:
            raise MlflowUnreachable(
                f"{shown}: TLS verification failed",
                hint="give the server's CA (caBundle / MLFLOW_TRACKING_SERVER_CERT_PATH), "
                "or verifyTls: false for a lab server",
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise MlflowUnreachable(f"{shown}: no answer within {self.settings.timeout:.0f}s") from exc
        except requests.exceptions.ConnectionError as exc:
            raise MlflowUnreachable(
                f"{shown}: cannot connect ({_reason(exc)})",
                hint="is the tracking server running and is the URL right (port-forward, ingress)?",
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise MlflowUnreachable(f"{shown}: request failed ({type(exc).__name__})") from exc
        with response:
            try:
                content = response.raw.read(max_bytes + 1, decode_content=True)
            except (requests.exceptions.RequestException, OSError) as exc:
                raise MlflowUnreachable(f"{shown}: the connection broke while reading the answer") from exc
            if response.status_code >= 300:
                raise _error_for(shown, response.status_code, response.headers, content, self.auth_kind)
            if len(content) > max_bytes:
                raise MlflowError(f"{shown}: the answer is larger than {max_bytes} bytes")
            return bytes(content)


def _as_object(content: bytes, method: str, path: str) -> dict[str, Any]:
    if not content.strip():
        return {}
    try:
        answer = json.loads(content)
    except ValueError as exc:
        raise MlflowError(
            f"MLflow {method} {path}: the answer is not JSON ({excerpt(content.decode(errors='replace'))})",
            hint="is the URL the MLflow tracking server, and not a UI proxy or login page?",
        ) from exc
    if not isinstance(answer, dict):
        raise MlflowError(f"MLflow {method} {path}: expected a JSON object, got {type(answer).__name__}")
    return answer


def _error_for(
    shown: str, status: int, headers: Mapping[str, str], content: bytes, auth_kind: str
) -> MlflowError:
    text = content.decode(errors="replace")
    error_code, message = "", excerpt(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error_code = str(parsed.get("error_code") or "")
        message = excerpt(str(parsed.get("message") or text))
    if status == 401:
        sent = "no credentials were sent" if auth_kind == "none" else f"{auth_kind} credentials were refused"
        return MlflowAuthError(
            f"{shown}: 401, MLflow refused the credentials ({sent})", hint=CREDENTIALS_HINT, status=401
        )
    if status == 403 and "invalid host header" in text.lower():
        return MlflowHostRejected(
            f"{shown}: 403 Invalid Host header: the server rejects the host name in this URL "
            "(its DNS-rebinding protection accepts only the hosts it was told about)",
            hint="on the server, allow this host (mlflow server --allowed-hosts, or "
            "MLFLOW_SERVER_ALLOWED_HOSTS, e.g. 'mlflow.mlflow.svc.cluster.local:5000'), or use an address it "
            "accepts (a port-forward to localhost); /health answers 200 either way, so it proves nothing",
            status=403,
        )
    if status == 403:
        return MlflowForbidden(
            f"{shown}: 403, the MLflow user may not do this ({message})",
            hint="grant the user READ on the experiment or registered model, or use other credentials",
            status=403,
        )
    error = MlflowNotFound if status == 404 or error_code == "RESOURCE_DOES_NOT_EXIST" else MlflowApiError
    return error(
        f"{shown}: {status} {error_code or 'error'}: {message}",
        error_code=error_code,
        status=status,
        retry_after=_retry_after(headers),
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to the exponential wait


def _retryable(policy: MlflowRetryPolicy, exc: BaseException) -> bool:
    if isinstance(exc, MlflowUnreachable):
        return True
    return isinstance(exc, MlflowApiError) and exc.status in policy.retry_on


def _delay(policy: MlflowRetryPolicy, state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome is not None else None
    if isinstance(error, MlflowApiError) and error.retry_after is not None and error.status in (429, 503):
        return min(error.retry_after, policy.max_retry_after)
    return float(min(policy.max_delay, policy.base_delay * 2 ** (state.attempt_number - 1)))


def _auth_headers(auth: Auth, env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """Headers carrying the credentials, and what kind they are (for messages; never the values)."""
    if auth == "none":
        return {}, "none"
    pair = _basic_pair(env)
    if pair is not None:
        return {"Authorization": f"Basic {pair}"}, "basic"
    token = env.get(TOKEN_ENV)
    if token:
        return {"Authorization": f"Bearer {token}"}, "bearer"
    return {}, "none"


def _basic_pair(env: Mapping[str, str]) -> str | None:
    username = env.get(USERNAME_ENV)
    password = env.get(PASSWORD_ENV)
    if username and password is not None:
        return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return None


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    """The credentials in `env` that must never be shown: every SECRET_ENV_VARS value, and the Basic
    header's encoded pair (a program that echoes the header it sends would print that)."""
    values = [env[name] for name in SECRET_ENV_VARS if env.get(name)]
    pair = _basic_pair(env)
    return tuple(values if pair is None else [*values, pair])


def _verify_setting(settings: MlflowSettings, env: Mapping[str, str]) -> bool | str:
    if not settings.verify_tls:
        return False
    if settings.ca_bundle is not None:
        return str(settings.ca_bundle)
    for name in ("MLFLOW_TRACKING_SERVER_CERT_PATH", "REQUESTS_CA_BUNDLE"):
        if env.get(name):
            return env[name]
    return True


def _proxies_for(scheme: str, host: str, env: Mapping[str, str]) -> dict[str, str]:
    """The proxy for this server from the Runtime env (HTTPS_PROXY/HTTP_PROXY, minus NO_PROXY)."""
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
    for entry in (item.strip().lstrip(".").lower() for item in no_proxy.split(",")):
        if entry == "*" or (entry and (host.lower() == entry or host.lower().endswith("." + entry))):
            return {}
    name = f"{scheme.upper()}_PROXY"
    proxy = env.get(name) or env.get(name.lower())
    return {scheme: proxy} if proxy else {}


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
