"""Every value drkit knows to be secret, in one registry per run that all masking consults.

Values arrive from several places and at different times: the playbook's secret variables and `--set` secrets
when the run starts, the credentials drkit reads from its environment (MLflow's password and token) and from
the kubeconfig context in use (token, password, client key) when it opens a connection, and the data of every
Secret it reads or writes as soon as the answer arrives. Masking looks the registry up when it masks, so a
value registered halfway through a run is masked in everything written after that, and in the report files,
which are written from the whole run at its end.

Short values are not registered. Masking replaces a value wherever it occurs, and a two- or three-character
value occurs by chance in ordinary words and numbers: masking it would garble every report, and the pattern
of `****` would itself show where (so what) the value was. A value the user declared secret (a secret
variable, a password in the environment or the kubeconfig) is registered from MIN_SECRET_LENGTH (4)
characters: shorter than that it protects nothing. Secret data read from a cluster is registered from
MIN_SECRET_DATA_LENGTH (8): a Secret also holds ports, user names and flags ("5432", "admin", "true") that
are not credentials and appear everywhere, while tokens, keys and generated passwords are longer (8 is also
the shortest password NIST SP 800-63B allows).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Iterable, Mapping

MASK = "****"
MIN_SECRET_LENGTH = 4
MIN_SECRET_DATA_LENGTH = 8


class SecretRegistry:
    """A thread-safe, grow-only set of secret values, and masking with them (longest value first)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None  # cached alternation; None: rebuild on next use
        self.add_all(values)

    def add(self, value: str | None, *, min_length: int = MIN_SECRET_LENGTH) -> None:
        """Register a secret value. A multi-line value (a PEM key, a config file) is registered whole and line
        by line, so a single line of it is masked too (armour lines such as `-----BEGIN ...-----` are not
        secret and stay)."""
        if not value:
            return
        forms = {value, value.strip()}
        if "\n" in value.strip():
            forms |= {line.strip() for line in value.splitlines() if not line.strip().startswith("-----")}
        new = {f for f in forms if len(f) >= min_length}
        with self._lock:
            if not new <= self._values:
                self._values |= new
                self._pattern = None

    def add_all(self, values: Iterable[str | None], *, min_length: int = MIN_SECRET_LENGTH) -> None:
        for value in values:
            self.add(value, min_length=min_length)

    def add_base64(self, encoded: str, *, min_length: int = MIN_SECRET_DATA_LENGTH) -> None:
        """Register a base64 value both as stored and decoded (when it decodes to text). A text value too
        short to register is not registered encoded either: its encoding would still mark where it is."""
        try:
            decoded: str | None = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            decoded = None  # not base64, or binary data: it cannot appear in text as it is
        if decoded is not None and len(decoded.strip()) < min_length:
            return
        self.add(encoded, min_length=min_length)
        self.add(decoded, min_length=min_length)

    def add_secret_object(self, obj: Mapping[str, object]) -> None:
        """Register the values of a v1 Secret (`data`, base64, and `stringData`, plain); anything else is
        ignored, so callers can hand over every object they see."""
        if obj.get("kind") != "Secret" or obj.get("apiVersion") not in ("v1", None):
            return
        data = obj.get("data")
        if isinstance(data, Mapping):
            for value in data.values():
                if isinstance(value, str):
                    self.add_base64(value)
        string_data = obj.get("stringData")
        if isinstance(string_data, Mapping):
            self.add_all(
                (v for v in string_data.values() if isinstance(v, str)), min_length=MIN_SECRET_DATA_LENGTH
            )

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def mask(self, text: str) -> str:
        """`text` with every registered value replaced by MASK."""
        pattern = self._compiled()
        return text if pattern is None or not text else pattern.sub(MASK, text)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first: where one value contains another, the whole of the longer one is masked.
                ordered = sorted(self._values, key=lambda v: (-len(v), v))
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern
