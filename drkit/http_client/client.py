"""One HTTP request, translated into drkit's own response type and errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from drkit.errors import AdapterError, UnreachableError

MAX_BODY_BYTES = 1_000_000  # a health endpoint answering more than this is not one we inspect further


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    text: str


def http_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: object = None,
    timeout: float = 10.0,
    verify_tls: bool = True,
    ca_bundle: Path | None = None,
) -> HttpResponse:
    """Send one request and read at most MAX_BODY_BYTES of the answer. No answer: UnreachableError."""
    verify: bool | str = str(ca_bundle) if ca_bundle is not None and verify_tls else verify_tls
    try:
        with requests.Session() as session:
            kwargs: dict[str, object] = {}
            if json_body is not None:
                kwargs["json"] = json_body
            response = session.request(
                method,
                url,
                headers=dict(headers or {}),
                timeout=max(0.1, timeout),
                verify=verify,
                stream=True,
                allow_redirects=True,
                **kwargs,  # type: ignore[arg-type]
            )
            with response:
                raw = response.raw.read(MAX_BODY_BYTES, decode_content=True) if method != "HEAD" else b""
                encoding = response.encoding or "utf-8"
                text = raw.decode(encoding, errors="replace")
                return HttpResponse(status=response.status_code, headers=dict(response.headers), text=text)
    except requests.exceptions.SSLError as exc:
        raise UnreachableError(
            f"{method} {url}: TLS verification failed",
            hint="pass caBundle with the server's CA, or verifyTls: false for a lab endpoint",
        ) from exc
    except requests.exceptions.Timeout as exc:
        raise UnreachableError(f"{method} {url}: no answer within {timeout:.1f}s") from exc
    except requests.exceptions.ConnectionError as exc:
        raise UnreachableError(f"{method} {url}: connection failed ({_reason(exc)})") from exc
    except requests.exceptions.RequestException as exc:
        raise AdapterError(f"{method} {url}: request failed ({type(exc).__name__})") from exc


def _reason(exc: Exception) -> str:
    """The innermost cause's short text, without the long urllib3 wrapper chain."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
