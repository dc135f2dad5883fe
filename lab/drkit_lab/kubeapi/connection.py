"""Where an API server is and how to prove who we are to it: a URL, the CA that signed its certificate, and
one credential (a bearer token, or a client certificate and key as a real control plane issues them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests


@dataclass(frozen=True)
class ApiConnection:
    server: str  # https://127.0.0.1:6443
    ca_file: Path | None = None  # None: the server speaks plain HTTP (or the system trust store applies)
    token: str | None = None
    client_cert: tuple[Path, Path] | None = None  # (certificate PEM, key PEM)

    def __post_init__(self) -> None:
        if (self.token is None) == (self.client_cert is None):
            raise ValueError(
                "an API connection needs exactly one credential: a token or a client certificate"
            )

    def session(self, user_agent: str) -> requests.Session:
        """A keep-alive session that authenticates every request (one per thread: Sessions are not
        guaranteed thread-safe)."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies must not redirect the lab's own traffic
        session.verify = str(self.ca_file) if self.ca_file is not None else True
        session.headers["User-Agent"] = user_agent
        session.headers["Accept"] = "application/json"
        if self.token is not None:
            session.headers["Authorization"] = f"Bearer {self.token}"
        if self.client_cert is not None:
            session.cert = (str(self.client_cert[0]), str(self.client_cert[1]))
        return session
