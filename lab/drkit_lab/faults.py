"""Injected misbehaviour of the lab's API server: latency, error responses, dropped connections, cut watches.

Drills must hold up against a flaky control plane, so the lab can be made flaky on purpose and repeatably: the
fate of a request is drawn from the seed, the request (method and path) and how many times that request was
seen before, so the same run meets the same faults whatever order its threads send their requests in.
Settings change at run time through `/lab/faults`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

Verdict = Literal["pass", "error", "drop"]


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: float = 0  # added to every API request
    error_rate: float = 0.0  # fraction of requests answered with one of `error_codes`
    error_codes: tuple[int, ...] = (500, 503, 429)  # 429 carries Retry-After: 1
    drop_rate: float = 0.0  # fraction of connections closed without a response
    watch_cut_after: float | None = None  # seconds after which watch streams are closed early
    down_controllers: tuple[str, ...] = ()
    seed: int = 0  # random.Random(seed): a run can be repeated

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultSettings:
        """Settings from a JSON object; unknown fields are rejected so typos do not silently do nothing."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown fault settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values = dict(data)
        for name in ("error_codes", "down_controllers"):
            if name in values:
                values[name] = tuple(values[name])
        settings = replace(cls(), **values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ValueError for settings that cannot mean anything (rates outside 0..1, odd codes)."""
        for name in ("error_rate", "drop_rate"):
            rate = getattr(self, name)
            if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1, got {rate!r}")
        if not isinstance(self.latency_ms, (int, float)) or self.latency_ms < 0:
            raise ValueError(f"latency_ms must be a non-negative number, got {self.latency_ms!r}")
        if any(not isinstance(c, int) or not 400 <= c <= 599 for c in self.error_codes):
            raise ValueError(
                f"error_codes must be HTTP error statuses (400-599), got {list(self.error_codes)}"
            )
        cut = self.watch_cut_after
        if cut is not None and (not isinstance(cut, (int, float)) or cut <= 0):
            raise ValueError(f"watch_cut_after must be a positive number of seconds or null, got {cut!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)
        }


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay_seconds: float = 0.0
    code: int = 0


class Faults:
    """Thread-safe holder of the current settings; the HTTP handler asks it about every request."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._seen: Counter[str] = Counter()  # requests by key, since the seed was set

    @property
    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings

    def update(self, settings: FaultSettings) -> None:
        with self._lock:
            if settings.seed != self._settings.seed:
                self._seen.clear()
            self._settings = settings

    def decide(self, request: str = "", *, errors_allowed: bool = True) -> Decision:
        """What to do with one request (`request`: its method and path). `errors_allowed` False (health,
        version) still gets latency."""
        with self._lock:
            s = self._settings
            nth = self._seen[request]
            self._seen[request] += 1
        delay = s.latency_ms / 1000.0
        if not errors_allowed:
            return Decision("pass", delay)
        drop, error, pick = _draws(s.seed, request, nth)
        if s.drop_rate and drop < s.drop_rate:
            return Decision("drop", delay)
        if s.error_rate and s.error_codes and error < s.error_rate:
            return Decision("error", delay, s.error_codes[int(pick * len(s.error_codes))])
        return Decision("pass", delay)


def _draws(seed: int, request: str, nth: int) -> tuple[float, float, float]:
    """Three numbers in [0, 1) fixed by the seed, the request and its repetition."""
    digest = hashlib.blake2b(f"{seed}|{request}|{nth}".encode(), digest_size=24).digest()
    scale = float(1 << 64)
    return tuple(int.from_bytes(digest[i : i + 8], "big") / scale for i in (0, 8, 16))  # type: ignore[return-value]


# What an injected error answers with, worded as kube-apiserver words these statuses.
FAULT_STATUSES: dict[int, tuple[str, str]] = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected by the drkit lab"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted"),
}


def fault_status(code: int) -> tuple[str, str]:
    """The (reason, message) of an injected error with HTTP status `code`."""
    return FAULT_STATUSES.get(code, ("InternalError", f"injected error {code}"))
