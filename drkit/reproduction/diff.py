"""Two inventories compared: missing, extra and changed objects, with the changed fields as JSON paths.

Paths are written `spec.storageUri`, `spec.containers[0].image`, `metadata.annotations["drkit.io/x"]`.
A rule (`ignore`, `expectChanges`) names a path the same way, where `*` stands for any one key or index, and
covers everything below it; it may be narrowed to a kind (`Model` or `Model.mlops.seldon.io`), a namespace
and a name. Ignored paths are not compared at all; expected changes are reported, marked as expected, and do
not fail the comparison. A rule without a path covers the whole object (an object expected to be missing or
extra). A Secret's `data`/`stringData` fields are compared by digest and reported without their values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.report.reproduction import Change, DiffReport, FieldChange, FieldChangeKind, ObjectDiff
from drkit.reproduction.inventory import SECRET_FIELDS, Inventory, Key

Part = str | int
WILDCARD = "*"
_TOKEN = re.compile(r"""\.?([A-Za-z0-9_$*-]+)|\[(\d+|\*)\]|\[(['"])(.*?)\3\]""")
_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


class PathError(ValueError):
    pass


def parse_path(text: str) -> tuple[Part, ...]:
    """`spec.containers[0].image` -> ('spec', 'containers', 0, 'image'); PathError when it is not a path."""
    parts: list[Part] = []
    position = 0
    text = text.strip()
    if text.startswith("$"):
        text = text[1:]
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise PathError(f"{text!r} is not a path (at {text[position:]!r})")
        plain, index, _, quoted = match.groups()
        if plain is not None:
            parts.append(plain)
        elif index is not None:
            parts.append(WILDCARD if index == WILDCARD else int(index))
        else:
            parts.append(quoted)
        position = match.end()
    if not parts:
        raise PathError("an empty path")
    return tuple(parts)


def show_path(parts: Sequence[Part]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


@dataclass(frozen=True)
class Rule:
    path: tuple[Part, ...] | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None

    def covers_object(self, key: Key) -> bool:
        group, kind, namespace, name = key
        if self.kind is not None and self.kind not in (kind, f"{kind}.{group}" if group else kind):
            return False
        if self.namespace is not None and self.namespace != (namespace or ""):
            return False
        return self.name is None or self.name == name

    def covers(self, key: Key, path: Sequence[Part] | None) -> bool:
        if not self.covers_object(key):
            return False
        if self.path is None:
            return True
        if path is None or len(path) < len(self.path):
            return False
        return all(want in (WILDCARD, got) for want, got in zip(self.path, path, strict=False))


def diff_inventories(
    before: Inventory,
    after: Inventory,
    *,
    labels: tuple[str, str],
    ignore: Sequence[Rule] = (),
    expect: Sequence[Rule] = (),
    fail_on: Sequence[str] = (),
) -> DiffReport:
    """What differs between `before` and `after`; kinds either side could not read are left out."""
    unreadable = {**before.unreadable, **after.unreadable}
    keys = sorted(
        {
            k
            for k in (*before.objects, *after.objects)
            if (k[0], k[1]) not in unreadable
            and not any(r.path is None and r.covers_object(k) for r in ignore)
        },
        key=lambda k: (k[1], k[0], k[2] or "", k[3]),
    )
    diffs: list[ObjectDiff] = []
    for key in keys:
        old, new = before.objects.get(key), after.objects.get(key)
        whole_expected = any(r.path is None and r.covers_object(key) for r in expect)
        source = old if old is not None else new
        assert source is not None
        api_version = str(source.get("apiVersion", ""))
        if old is None or new is None:
            change = Change.EXTRA if old is None else Change.MISSING
            diffs.append(_object(key, api_version, change, (), accepted=whole_expected))
            continue
        secret = key[1] == "Secret" and not key[0]
        changes = [
            _field(key, path, kind, a, b, secret=secret, expect=expect)
            for path, kind, a, b in _walk((), old, new)
            if not any(r.covers(key, path) for r in ignore)
        ]
        if changes:
            accepted = whole_expected or all(c.accepted for c in changes)
            diffs.append(_object(key, api_version, Change.CHANGED, tuple(changes), accepted=accepted))
    order = {Change.MISSING: 0, Change.EXTRA: 1, Change.CHANGED: 2}
    diffs.sort(key=lambda d: (order[d.change], d.kind, d.namespace or "", d.name))
    return DiffReport(
        before=labels[0],
        after=labels[1],
        namespaces=tuple(dict.fromkeys((*before.namespaces, *after.namespaces))),
        kinds=tuple(dict.fromkeys(k.label for k in (*before.kinds, *after.kinds))),
        compared=len(keys),
        objects=tuple(diffs),
        fail_on=tuple(fail_on),
        unreadable=tuple(
            f"{kind}{'.' + group if group else ''}: {why}" for (group, kind), why in unreadable.items()
        ),
    )


def _object(
    key: Key, api_version: str, change: Change, fields: tuple[FieldChange, ...], *, accepted: bool
) -> ObjectDiff:
    _, kind, namespace, name = key
    return ObjectDiff(api_version, kind, namespace, name, change, fields, accepted)


def _field(
    key: Key,
    path: tuple[Part, ...],
    kind: FieldChangeKind,
    old: object,
    new: object,
    *,
    secret: bool,
    expect: Sequence[Rule],
) -> FieldChange:
    hidden = secret and bool(path) and path[0] in SECRET_FIELDS
    return FieldChange(
        path=show_path(path),
        change=kind,
        old=None if hidden else old,
        new=None if hidden else new,
        secret=hidden,
        accepted=any(r.path is not None and r.covers(key, path) for r in expect),
    )


def _walk(
    path: tuple[Part, ...], old: object, new: object
) -> Iterator[tuple[tuple[Part, ...], FieldChangeKind, object, object]]:
    """Every leaf-most difference: keys of mappings and positions of lists, recursively."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for name in sorted(set(old) | set(new), key=str):
            if name not in new:
                yield (*path, str(name)), "removed", old[name], None
            elif name not in old:
                yield (*path, str(name)), "added", None, new[name]
            else:
                yield from _walk((*path, str(name)), old[name], new[name])
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            if index >= len(new):
                yield (*path, index), "removed", old[index], None
            elif index >= len(old):
                yield (*path, index), "added", None, new[index]
            else:
                yield from _walk((*path, index), old[index], new[index])
        return
    if old != new or type(old) is not type(new):
        yield path, "changed", old, new


def rule_of(raw: object) -> Rule:
    """A rule from a playbook or the command line: a path, or {kind, namespace, name, path}."""
    if isinstance(raw, str):
        return Rule(path=parse_path(raw))
    if not isinstance(raw, Mapping):
        raise PathError("a rule is a path or {kind, namespace, name, path}")
    path = raw.get("path")
    return Rule(
        path=None if path is None else parse_path(str(path)),
        kind=_opt(raw, "kind"),
        namespace=_opt(raw, "namespace"),
        name=_opt(raw, "name"),
    )


def _opt(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else str(value)
