"""What a rebuilt platform is compared with: prediction parity and the reproduction diff, as report data.

A recovery is done when the rebuilt platform predicts what it predicted before and is the platform it was.
The steps that find out (`predictionParity`, `reproductionDiff`) and `drkit diff` build these frozen values;
the report keeps them typed on the step (not in its free-form details), so every renderer reads the same
fields and report.json holds them as data. They hold no secret values by construction: a Secret's data is
compared by digest and a changed Secret names only its keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal


class Verdict(StrEnum):
    EQUAL = "equal"
    WITHIN_TOLERANCE = "within tolerance"
    DIFFERENT = "different"
    NO_ANSWER = "no answer"  # the replay got no predictions (server down, model not loaded, ...)


class Sameness(StrEnum):
    SAME = "same model"
    RETRAINED = "retrained"
    UNKNOWN = "unknown"  # no model id could be read on one side or both


@dataclass(frozen=True)
class ModelIdentity:
    """Which model served: the storage URI read from the serving object, and the MLflow id it names."""

    storage_uri: str | None
    model_id: str | None  # `m-<id>` (MLflow 3 LoggedModel) or a run id (MLflow 2 layout); None: not derivable
    source: str = ""  # where the URI was read, e.g. `Model financial-inference/baseline-predictor`

    def to_json(self) -> dict[str, object]:
        return {"storageUri": self.storage_uri, "modelId": self.model_id, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelIdentity:
        uri, model_id = _opt_str(data.get("storageUri")), _opt_str(data.get("modelId"))
        return cls(uri, model_id, str(data.get("source", "")))


@dataclass(frozen=True)
class WorstDifference:
    """The one element that differs most: which output, where (row-major index), expected and got.

    `difference` is |got - expected| for numbers and None for what has no distance (a label, a shape, a
    missing output), which ranks worst of all."""

    output: str
    index: tuple[int, ...]
    expected: object
    got: object
    difference: float | None
    beyond_tolerance: bool
    note: str = ""  # for mismatches that are not one element: "shape [2, 1], expected [3, 1]"

    def describe(self) -> str:
        if self.note:
            return f"output {self.output!r}: {self.note}"
        where = f"[{', '.join(str(i) for i in self.index)}]"
        by = f" (off by {self.difference:g})" if self.difference is not None else ""
        return f"output {self.output!r}{where}: expected {_show(self.expected)}, got {_show(self.got)}{by}"

    def to_json(self) -> dict[str, object]:
        return {
            "output": self.output,
            "index": list(self.index),
            "expected": self.expected,
            "got": self.got,
            "difference": self.difference,
            "beyondTolerance": self.beyond_tolerance,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WorstDifference:
        difference = data.get("difference")
        return cls(
            output=str(data.get("output", "")),
            index=tuple(int(i) for i in data.get("index") or ()),
            expected=data.get("expected"),
            got=data.get("got"),
            difference=None if difference is None else float(difference),
            beyond_tolerance=bool(data.get("beyondTolerance", False)),
            note=str(data.get("note", "")),
        )


@dataclass(frozen=True)
class ModelParity:
    """One model's replay: the verdict, which model answered before and after, and the worst difference."""

    name: str
    model: str  # the V2 model name asked
    endpoint: str
    verdict: Verdict
    before: ModelIdentity
    after: ModelIdentity
    compared: int = 0  # elements compared
    beyond: int = 0  # elements beyond the tolerance
    inexact: int = 0  # elements not exactly equal (within the tolerance or not)
    worst: WorstDifference | None = None
    message: str = ""  # why there was no answer, else ""

    @property
    def sameness(self) -> Sameness:
        old, new = self.before.model_id, self.after.model_id
        if old and new:
            return Sameness.SAME if old == new else Sameness.RETRAINED
        if self.before.storage_uri and self.before.storage_uri == self.after.storage_uri:
            return Sameness.SAME
        return Sameness.UNKNOWN

    @property
    def passed(self) -> bool:
        return self.verdict in (Verdict.EQUAL, Verdict.WITHIN_TOLERANCE)

    def identity_line(self) -> str:
        """`retrained (m-1 → m-2)`, `same model (m-1)`, or what is known of the URIs."""
        old, new = self.before.model_id or "?", self.after.model_id or "?"
        if self.sameness is Sameness.RETRAINED:
            return f"retrained ({old} → {new})"
        if self.sameness is Sameness.SAME:
            return f"same model ({old})" if self.before.model_id else "same model (same storage URI)"
        if not self.before.storage_uri and not self.after.storage_uri:
            return "model id not recorded"
        return f"model id unknown ({old} → {new})"

    def summary(self) -> str:
        """One line: verdict, identity, and the worst difference (or why there was no answer)."""
        text = f"{self.verdict}, {self.identity_line()}"
        if self.verdict is Verdict.NO_ANSWER:
            return f"{text}: {self.message}"
        if self.worst is not None and self.verdict is not Verdict.EQUAL:
            counted = self.beyond if self.verdict is Verdict.DIFFERENT else self.inexact
            text += f"; {counted} of {self.compared} value(s) differ; worst {self.worst.describe()}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "model": self.model,
            "endpoint": self.endpoint,
            "verdict": str(self.verdict),
            "sameness": str(self.sameness),
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "compared": self.compared,
            "beyondTolerance": self.beyond,
            "inexact": self.inexact,
            "worst": None if self.worst is None else self.worst.to_json(),
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelParity:
        worst = data.get("worst")
        return cls(
            name=str(data.get("name", "")),
            model=str(data.get("model", "")),
            endpoint=str(data.get("endpoint", "")),
            verdict=Verdict(data.get("verdict", Verdict.NO_ANSWER)),
            before=ModelIdentity.from_json(data.get("before") or {}),
            after=ModelIdentity.from_json(data.get("after") or {}),
            compared=int(data.get("compared", 0)),
            beyond=int(data.get("beyondTolerance", 0)),
            inexact=int(data.get("inexact", 0)),
            worst=None if not isinstance(worst, Mapping) else WorstDifference.from_json(worst),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class ParityReport:
    """A predictionParity step's verdicts: each model's answers replayed against the golden ones."""

    snapshot: str  # `phase/step` of the goldenPredictions step replayed
    taken_at: float | None  # when the golden predictions were recorded (wall clock)
    absolute: float
    relative: float
    models: tuple[ModelParity, ...]

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.models)

    def counts(self) -> dict[str, int]:
        return {str(v): sum(1 for m in self.models if m.verdict is v) for v in Verdict}

    def to_json(self) -> dict[str, object]:
        return {
            "snapshot": self.snapshot,
            "takenAt": self.taken_at,
            "tolerance": {"absolute": self.absolute, "relative": self.relative},
            "passed": self.passed,
            "models": [m.to_json() for m in self.models],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ParityReport:
        tolerance = data.get("tolerance") or {}
        taken = data.get("takenAt")
        return cls(
            snapshot=str(data.get("snapshot", "")),
            taken_at=None if taken is None else float(taken),
            absolute=float(tolerance.get("absolute", 0.0)),
            relative=float(tolerance.get("relative", 0.0)),
            models=tuple(ModelParity.from_json(m) for m in data.get("models") or ()),
        )


# --- the reproduction diff ------------------------------------------------------------------------------


class Change(StrEnum):
    MISSING = "missing"  # there before, not after
    EXTRA = "extra"  # not there before, there after
    CHANGED = "changed"  # there on both sides, with different normalised fields


FieldChangeKind = Literal["changed", "added", "removed"]
CHANGES: tuple[str, ...] = tuple(str(c) for c in Change)


@dataclass(frozen=True)
class FieldChange:
    """One field that differs. A Secret's data fields are `secret`: their values are never kept, not even as
    digests, so `old` and `new` are None and only the key and the kind of change are known."""

    path: str
    change: FieldChangeKind
    old: object = None
    new: object = None
    secret: bool = False
    accepted: bool = False  # matched an `expectChanges` entry

    def describe(self) -> str:
        mark = " (expected)" if self.accepted else ""
        if self.secret:
            words = {"changed": "value changed", "added": "key added", "removed": "key missing"}
            return f"{self.path}: {words[self.change]} (compared by digest){mark}"
        if self.change == "added":
            return f"{self.path}: added {_show(self.new)}{mark}"
        if self.change == "removed":
            return f"{self.path}: removed (was {_show(self.old)}){mark}"
        return f"{self.path}: {_show(self.old)} → {_show(self.new)}{mark}"

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "change": self.change,
            "old": self.old,
            "new": self.new,
            "secret": self.secret,
            "accepted": self.accepted,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldChange:
        change = str(data.get("change", "changed"))
        return cls(
            path=str(data.get("path", "")),
            change="added" if change == "added" else "removed" if change == "removed" else "changed",
            old=data.get("old"),
            new=data.get("new"),
            secret=bool(data.get("secret", False)),
            accepted=bool(data.get("accepted", False)),
        )


@dataclass(frozen=True)
class ObjectDiff:
    """One object that differs: missing, extra, or changed in the fields listed."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    change: Change
    fields: tuple[FieldChange, ...] = ()
    accepted: bool = False  # every difference of this object was expected (`expectChanges`)

    @property
    def target(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def describe(self) -> str:
        mark = " (expected)" if self.accepted else ""
        if self.change is not Change.CHANGED:
            return f"{self.change} {self.target}{mark}"
        return f"changed {self.target}{mark}: " + "; ".join(f.describe() for f in self.fields)

    def to_json(self) -> dict[str, object]:
        return {
            "object": self.target,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "change": str(self.change),
            "accepted": self.accepted,
            "fields": [f.to_json() for f in self.fields],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectDiff:
        return cls(
            api_version=str(data.get("apiVersion", "")),
            kind=str(data.get("kind", "")),
            namespace=_opt_str(data.get("namespace")),
            name=str(data.get("name", "")),
            change=Change(data.get("change", Change.CHANGED)),
            fields=tuple(FieldChange.from_json(f) for f in data.get("fields") or ()),
            accepted=bool(data.get("accepted", False)),
        )


@dataclass(frozen=True)
class DiffReport:
    """A reproductionDiff step's result: the objects missing, extra or changed between two sides."""

    before: str  # what was compared: `snapshot teardown/inventory`, `context drkit-lab`
    after: str
    namespaces: tuple[str, ...]
    kinds: tuple[str, ...]  # `Model.mlops.seldon.io`, `ConfigMap`
    compared: int  # objects on either side
    objects: tuple[ObjectDiff, ...]  # only the ones that differ
    fail_on: tuple[str, ...] = ()  # the changes that fail (unless expected)
    unreadable: tuple[str, ...] = ()  # kinds left out, and why (RBAC, an aggregated API down)

    def count(self, change: Change, *, accepted: bool | None = None) -> int:
        return sum(
            1 for o in self.objects if o.change is change and (accepted is None or o.accepted is accepted)
        )

    @property
    def failing(self) -> tuple[ObjectDiff, ...]:
        return tuple(o for o in self.objects if str(o.change) in self.fail_on and not o.accepted)

    @property
    def passed(self) -> bool:
        return not self.failing

    def summary(self) -> str:
        """`2 missing, 1 extra, 3 changed (1 expected) of 42 objects`."""
        parts = []
        for change in Change:
            expected = self.count(change, accepted=True)
            note = f" ({expected} expected)" if expected else ""
            parts.append(f"{self.count(change)} {change}{note}")
        return f"{', '.join(parts)} of {self.compared} object(s) compared"

    def to_json(self) -> dict[str, object]:
        return {
            "before": self.before,
            "after": self.after,
            "namespaces": list(self.namespaces),
            "kinds": list(self.kinds),
            "compared": self.compared,
            "counts": {str(c): self.count(c) for c in Change},
            "expected": {str(c): self.count(c, accepted=True) for c in Change},
            "failOn": list(self.fail_on),
            "passed": self.passed,
            "unreadable": list(self.unreadable),
            "objects": [o.to_json() for o in self.objects],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DiffReport:
        return cls(
            before=str(data.get("before", "")),
            after=str(data.get("after", "")),
            namespaces=_strs(data.get("namespaces")),
            kinds=_strs(data.get("kinds")),
            compared=int(data.get("compared", 0)),
            objects=tuple(ObjectDiff.from_json(o) for o in data.get("objects") or ()),
            fail_on=_strs(data.get("failOn")),
            unreadable=_strs(data.get("unreadable")),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, Sequence) and not isinstance(value, str) else ()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:99] + "…"
