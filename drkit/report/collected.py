"""What was gathered after a step failed, as the report keeps it: where the files are, the last Warning events
and what could not be gathered. The files themselves are in the run directory; the report only points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CollectedReport:
    """What was gathered for on-call after a step failed: where the files are, and what they showed."""

    directory: str  # relative to the run directory, e.g. "collected/rebuild-2"
    files: tuple[str, ...] = ()  # relative to `directory`
    warnings: tuple[str, ...] = ()  # the last Warning events, newest last: "Pod ml/x: BackOff: ..."
    notes: tuple[str, ...] = ()  # what could not be gathered, and why
    conditions: tuple[str, ...] = ()  # per object: "Deployment ml/api: Available=False (Reason), ..."

    def to_json(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "files": list(self.files),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "conditions": list(self.conditions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CollectedReport:
        return cls(
            directory=str(data.get("directory", "")),
            files=tuple(str(f) for f in data.get("files") or ()),
            warnings=tuple(str(w) for w in data.get("warnings") or ()),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            conditions=tuple(str(c) for c in data.get("conditions") or ()),
        )


FILES_NAMED = 6  # files named in a summary line; the rest are counted


def collected_lines(collected: CollectedReport) -> list[str]:
    """The summary the console and report.md show under a failed step, one fact a line."""
    lines = []
    if collected.files:
        named = ", ".join(collected.files[:FILES_NAMED])
        more = f" and {len(collected.files) - FILES_NAMED} more" if len(collected.files) > FILES_NAMED else ""
        lines.append(f"gathered into {collected.directory}/: {named}{more}")
    lines += [f"conditions of {conditions}" for conditions in collected.conditions]
    lines += [f"warning event: {warning}" for warning in collected.warnings]
    lines += [f"not gathered: {note}" for note in collected.notes]
    return lines
