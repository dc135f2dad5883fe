"""Changing storageUri values in manifest text without touching anything else.

A full ruamel round-trip dump re-indents sequences and can re-flow long lines; a reviewer would then see a
diff far larger than the change. So the loader only finds where each value is written, and the edit replaces
exactly those characters, in the value's own quoting style. The result is parsed again to prove the edit
landed where intended.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drkit.manifests.errors import ManifestError
from drkit.manifests.models import ModelTarget, find_models

# Plain scalars that YAML would read back unchanged (URIs and paths); anything else is quoted.
_SAFE_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_.:/@+=~%-]*$")


@dataclass(frozen=True)
class FileChange:
    path: Path
    old_text: str
    new_text: str

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self) -> str:
        return unified_diff(self.path, self.old_text, self.new_text)


def unified_diff(path: Path, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        f"a/{str(path).lstrip('/')}",
        f"b/{str(path).lstrip('/')}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def rewrite_uris(path: Path, text: str, new_uris: Mapping[int, str]) -> FileChange:
    """Set spec.storageUri of the Model documents at these indices; every other byte stays as it is."""
    targets = {t.document: t for t in find_models(path, text)}
    lines = text.splitlines(keepends=True)
    for document, uri in new_uris.items():
        target = targets.get(document)
        if target is None or target.position is None or target.storage_uri is None:
            raise ManifestError(f"document {document + 1} of {path} is not a Model with spec.storageUri")
        if target.storage_uri == uri:
            continue
        lines[target.position.line] = _replace_value(target, lines[target.position.line], uri)
    new_text = "".join(lines)
    _check(path, new_text, targets, new_uris)
    return FileChange(path, text, new_text)


def _replace_value(target: ModelTarget, line: str, uri: str) -> str:
    assert target.position is not None
    assert target.storage_uri is not None
    column, style = target.position.column, target.position.style
    old_token = _token(target.storage_uri, style)
    if line[column : column + len(old_token)] != old_token:
        raise ManifestError(
            f"{target.describe()}: spec.storageUri is not written on one line "
            f"(line {target.position.line + 1}); drkit edits only single-line values",
            hint="write the storageUri on one line",
        )
    new_style = style if style or _SAFE_PLAIN.match(uri) else "'"
    return line[:column] + _token(uri, new_style) + line[column + len(old_token) :]


def _token(value: str, style: str) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return json.dumps(value)
    return value


def _check(path: Path, new_text: str, before: Mapping[int, ModelTarget], new_uris: Mapping[int, str]) -> None:
    after = {t.document: t for t in find_models(path, new_text)}
    for document, target in before.items():
        wanted = new_uris.get(document, target.storage_uri)
        if document not in after or after[document].storage_uri != wanted:
            raise ManifestError(
                f"rewriting {target.describe()} would not give storageUri {wanted!r}; no change made"
            )
