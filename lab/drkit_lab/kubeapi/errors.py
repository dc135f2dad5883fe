"""HTTP failures as the lab's ApiError: the server's Status (code, reason, message) when it sent one."""

from __future__ import annotations

import json

import requests

from drkit_lab.apiserver.errors import ApiError

CONNECTION_FAILED = 0  # ApiError.code when no response came back at all
_BODY_LIMIT = 500


def connection_failed(exc: BaseException) -> ApiError:
    return ApiError(CONNECTION_FAILED, "ConnectionFailed", f"no response from the API server: {exc}")


def from_response(response: requests.Response) -> ApiError:
    """The ApiError for a non-2xx response, keeping the Status' reason and message (bodies are cut short)."""
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    retry_after = response.headers.get("Retry-After")
    if isinstance(body, dict) and body.get("kind") == "Status":
        return ApiError(
            int(body.get("code") or response.status_code),
            str(body.get("reason") or ""),
            str(body.get("message") or "")[:_BODY_LIMIT],
            details=body.get("details") if isinstance(body.get("details"), dict) else None,
            retry_after=int(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    text = response.text[:_BODY_LIMIT] if response.content else response.reason
    return ApiError(response.status_code, response.reason or "", text)
