"""The V2 (Open Inference) protocol's JSON, as the `inference` item reads and writes it. Pure: no requests.

A request is checked before anything is sent, so a typo in a playbook is a load-time problem and not a
server's 422; an answer is judged against the playbook's expectations output by output. Tensor data may be
flat or nested (the protocol allows both; the shape says how to read it), so values are compared flattened,
in row-major order, after the shapes are compared.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DATATYPES = (
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
)
_INTEGER_TYPES = frozenset(t for t in DATATYPES if "INT" in t)
_FLOAT_TYPES = frozenset(("FP16", "FP32", "FP64"))
_REQUEST_KEYS = ("id", "parameters", "inputs", "outputs")
_INPUT_KEYS = ("name", "shape", "datatype", "parameters", "data")
_OUTPUT_REQUEST_KEYS = ("name", "parameters")


def flatten(data: object) -> list[object]:
    """Nested lists flattened in row-major order; a scalar is a list of one."""
    if not isinstance(data, list | tuple):
        return [data]
    flat: list[object] = []
    for item in data:
        flat.extend(flatten(item))
    return flat


def element_count(shape: Sequence[int]) -> int:
    return math.prod(shape)


def request_problems(doc: object) -> list[str]:
    """What makes `doc` not a V2 inference request (empty when it is one)."""
    if not isinstance(doc, Mapping):
        return [f"the request must be a JSON object with `inputs`, got {_type(doc)}"]
    problems = [
        f"unknown key {key!r} in the request (V2 requests have {', '.join(_REQUEST_KEYS)})"
        for key in doc
        if key not in _REQUEST_KEYS
    ]
    if "id" in doc and not isinstance(doc["id"], str):
        problems.append("the request's `id` must be a string")
    if "parameters" in doc and not isinstance(doc["parameters"], Mapping):
        problems.append("the request's `parameters` must be an object")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        problems.append("the request needs `inputs`: a non-empty list of tensors")
        inputs = []
    seen: set[str] = set()
    for index, tensor in enumerate(inputs, start=1):
        problems.extend(_input_problems(index, tensor, seen))
    outputs = doc.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, list):
            problems.append("the request's `outputs` must be a list of {name}")
        else:
            for index, wanted in enumerate(outputs, start=1):
                if not isinstance(wanted, Mapping) or not isinstance(wanted.get("name"), str):
                    problems.append(f"requested output {index} needs a `name`")
                    continue
                problems.extend(
                    f"unknown key {key!r} in requested output {wanted['name']!r}"
                    for key in wanted
                    if key not in _OUTPUT_REQUEST_KEYS
                )
    return problems


def _input_problems(index: int, tensor: object, seen: set[str]) -> list[str]:
    if not isinstance(tensor, Mapping):
        return [f"input {index} must be an object {{name, shape, datatype, data}}, got {_type(tensor)}"]
    name = tensor.get("name")
    label = f"input {name!r}" if isinstance(name, str) and name else f"input {index}"
    problems = [
        f"unknown key {key!r} in {label} (V2 inputs have {', '.join(_INPUT_KEYS)})"
        for key in tensor
        if key not in _INPUT_KEYS
    ]
    if not isinstance(name, str) or not name:
        problems.append(f"{label} needs a `name`")
    elif name in seen:
        problems.append(f"{label} is given twice")
    else:
        seen.add(name)
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        problems.append(f"{label} needs a `shape`: a list of non-negative whole numbers, e.g. [2, 4]")
        shape = None
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        problems.append(f"{label} has datatype {datatype!r}; V2 datatypes are {', '.join(DATATYPES)}")
        datatype = None
    if "data" not in tensor:
        problems.append(f"{label} needs `data`")
        return problems
    values = flatten(tensor["data"])
    if shape is not None and len(values) != element_count(shape):
        problems.append(
            f"{label} has {len(values)} value(s) but shape {shape} holds {element_count(shape)}: "
            "make data and shape agree"
        )
    if datatype is not None:
        wrong = next((v for v in values if not _fits(v, datatype)), _NOTHING)
        if wrong is not _NOTHING:
            problems.append(f"{label} is {datatype} but holds {wrong!r} ({_type(wrong)})")
    return problems


_NOTHING = object()


def _fits(value: object, datatype: str) -> bool:
    if datatype == "BOOL":
        return isinstance(value, bool)
    if datatype == "BYTES":
        return isinstance(value, str)
    if datatype in _INTEGER_TYPES:
        return _is_int(value)
    return _is_number(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


# --- answers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """`|got - expected| <= absolute + relative * |expected|` (numpy.isclose); both 0 means exactly equal."""

    absolute: float = 0.0
    relative: float = 0.0

    def accepts(self, got: object, expected: object) -> bool:
        if _is_number(got) and _is_number(expected):
            g, e = float(got), float(expected)  # type: ignore[arg-type]
            if self.absolute == 0.0 and self.relative == 0.0:
                return g == e
            return abs(g - e) <= self.absolute + self.relative * abs(e)
        return got == expected and type(got) is type(expected)

    def describe(self) -> str:
        parts = [f"absolute {self.absolute:g}" if self.absolute else "", f"relative {self.relative:g}"]
        shown = [p for p in parts if p and not p.endswith(" 0")]
        return f" (within {', '.join(shown)})" if shown else ""


@dataclass(frozen=True)
class OutputExpectation:
    """What one output must be. `name` None: the output at the same position in the answer."""

    name: str | None = None
    datatype: str | None = None
    shape: tuple[int, ...] | None = None
    data: tuple[object, ...] | None = None  # flattened
    tolerance: Tolerance = Tolerance()

    def describe(self) -> str:
        what = [f"output {self.name!r}" if self.name else "output"]
        if self.datatype:
            what.append(self.datatype)
        if self.shape is not None:
            what.append(str(list(self.shape)))
        if self.data is not None:
            what.append(f"= {_show(list(self.data))}{self.tolerance.describe()}")
        return " ".join(what)


def answer_outputs(doc: object) -> tuple[list[Mapping[str, Any]] | None, str | None]:
    """The outputs of an inference answer, or None and why the answer is not a V2 inference response."""
    if not isinstance(doc, Mapping):
        return None, f"the answer is {_type(doc)}, not a V2 inference response"
    outputs = doc.get("outputs")
    if not isinstance(outputs, list) or not all(isinstance(o, Mapping) for o in outputs):
        return None, "the answer has no `outputs` list"
    return list(outputs), None


def output_problems(expected: Sequence[OutputExpectation], outputs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every way the answer's outputs miss the expectations (empty when they meet them)."""
    problems: list[str] = []
    names = [str(o.get("name")) for o in outputs]
    for position, want in enumerate(expected):
        if want.name is not None:
            got = next((o for o in outputs if o.get("name") == want.name), None)
            if got is None:
                have = ", ".join(repr(n) for n in names) or "none"
                problems.append(f"no output named {want.name!r} (the answer has {have})")
                continue
            label = f"output {want.name!r}"
        else:
            if position >= len(outputs):
                problems.append(f"expected at least {position + 1} output(s), the answer has {len(outputs)}")
                continue
            got = outputs[position]
            label = f"output {position + 1} ({names[position]!r})"
        problems.extend(_one_output(label, want, got))
    return problems


def _one_output(label: str, want: OutputExpectation, got: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if want.datatype is not None and got.get("datatype") != want.datatype:
        problems.append(f"{label} has datatype {got.get('datatype')!r}, expected {want.datatype!r}")
    shape = got.get("shape")
    if want.shape is not None and shape != list(want.shape):
        problems.append(f"{label} has shape {shape}, expected {list(want.shape)}")
    if want.data is None:
        return problems
    values = flatten(got.get("data"))
    if len(values) != len(want.data):
        problems.append(f"{label} has {len(values)} value(s), expected {len(want.data)}")
        return problems
    wrong = [
        i for i, (g, e) in enumerate(zip(values, want.data, strict=True)) if not want.tolerance.accepts(g, e)
    ]
    if wrong:
        first = wrong[0]
        where = _index(first, shape if isinstance(shape, list) else [len(values)])
        problems.append(
            f"{label}: {len(wrong)} of {len(values)} value(s) differ{want.tolerance.describe()}; "
            f"first at {where}: got {_show(values[first])}, expected {_show(want.data[first])}"
        )
    return problems


def _index(flat: int, shape: Sequence[object]) -> str:
    """The row-major multi-index of a flat position, as `[1, 0]`."""
    dims = [d for d in shape if isinstance(d, int) and not isinstance(d, bool) and d > 0]
    if len(dims) != len(shape) or math.prod(dims) <= flat:
        return f"[{flat}]"
    index: list[int] = []
    for size in reversed(dims):
        flat, rest = divmod(flat, size)
        index.append(rest)
    return str(list(reversed(index)))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:119] + "…"


def server_error(text: str) -> str:
    """The server's own words from an error answer: MLServer's `error`, FastAPI's `detail`, else the text."""
    try:
        doc = json.loads(text) if text.strip() else None
    except ValueError:
        return text.strip()
    if isinstance(doc, Mapping):
        if isinstance(doc.get("error"), str):
            return str(doc["error"])
        detail = doc.get("detail")
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, Mapping):
                    where = ".".join(str(p) for p in item.get("loc") or [])
                    parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
            if parts:
                return "; ".join(parts)
        if isinstance(detail, str):
            return detail
    return text.strip()
