"""Errors of manifest editing: a file that cannot be read, parsed, edited in place or written."""

from __future__ import annotations

from drkit.errors import AdapterError


class ManifestError(AdapterError):
    """A manifest file could not be read, understood or written; no file was changed."""
