"""What was gathered after a step failed, as the report keeps it: where the files are, the last Warning events
and what could not be gathered. The files themselves are in the run directory; the report only points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CollectedReport:
    directory: str  # relative to the run directory, e.g. "collected/rebuild-2"
    files: tuple[str, ...] = ()  # relative to `directory`
    warnings: tuple[str, ...] = ()  # the last Warning events, newest last: "Pod ml/x: BackOff: ..."
    notes: tuple[str, ...] = ()  # what could not be gathered, and why

    def to_json(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "files": list(self.files),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CollectedReport:
        return cls(
            directory=str(data.get("directory", "")),
            files=tuple(str(f) for f in data.get("files") or ()),
            warnings=tuple(str(w) for w in data.get("warnings") or ()),
            notes=tuple(str(n) for n in data.get("notes") or ()),
        )
