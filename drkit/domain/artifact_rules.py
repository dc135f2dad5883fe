"""Pure validation rules over a model directory's listing: is this a model a server can load and hold?

Seeds 000 and 002 describe models that registered fine and broke only when served: an MLflow model without a
usable `MLmodel`, a fine-tuned LLM whose layout is neither LoRA nor fused (seed 002 wants that to fail fast,
naming what is missing), CI placeholder files standing in for weights, a 210 MiB model sent to a pod limited
to 256Mi that ends OOMKilled, and a valid model of another architecture that loads, reports Ready and fails
on the app's first request (seed 000's `bad_model.pth`). These rules catch each of them before deploy, from
the file listing plus the contents of a few small files; the last one through the signature MLmodel records,
compared with what the playbook says the app sends. They do no I/O: `files_to_read` says which contents
`evaluate` needs, so the caller decides how to fetch them and the rules stay testable on plain data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from enum import StrEnum
from typing import Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

ModelFormat = Literal["mlflow", "lora", "fused", "auto"]
MODEL_FORMATS: tuple[ModelFormat, ...] = ("mlflow", "lora", "fused", "auto")

MLMODEL = "MLmodel"
LORA_FILES = ("adapters/adapters.safetensors", "adapters/adapter_config.json")
FUSED_FILES = ("model.safetensors", "config.json")
WEIGHT_SUFFIXES = (
    ".pkl",
    ".pickle",
    ".pth",
    ".pt",
    ".safetensors",
    ".bin",
    ".onnx",
    ".joblib",
    ".h5",
    ".ckpt",
)
PLACEHOLDER_MAX_BYTES = 64  # no real weights file is this small; CI dummies ("mock_lora_weights") are
PLACEHOLDER_SCAN_BYTES = 4096  # weights files up to this size are read to look for placeholder text
MAX_CONFIG_BYTES = 1024 * 1024  # JSON configs and MLmodel files larger than this are not parsed
NEAR_LIMIT_FRACTION = 0.8  # above this share of the limit the size check warns: little headroom is left
# What an MLServer takes by itself before any model is counted: measured with one scikit-learn model loaded,
# about 213 MB in its main process and 300 MB in its inference worker (~520 MB, under 512 MiB).
DEFAULT_MLSERVER_RESERVE = "512Mi"
ANY_SIZE = -1  # a tensor dimension of any size (MLflow's -1: usually the batch)
_PLACEHOLDER_TEXT = re.compile(rb"(?i)dummy|placeholder|mock|fake|not a (real )?model|todo|lorem ipsum")


class Severity(StrEnum):
    """How a failed check counts: errors fail the item, warnings are reported only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ArtifactFile:
    """One file of the model directory: its path relative to the directory (`/`-separated) and size."""

    path: str
    size: int


@dataclass(frozen=True)
class CheckResult:
    check: str
    ok: bool
    message: str
    severity: Severity = Severity.ERROR

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "ok": self.ok, "message": self.message, "severity": str(self.severity)}


@dataclass(frozen=True)
class MemoryLimit:
    """The memory the serving container may use, and who said so (for the message)."""

    quantity: str  # as written in the manifest or playbook: "256Mi"
    owner: str  # whose limit, possessive, for "<owner> memory limit": "mlserver's", "the configured"
    source: str = ""  # the object it was read from: "StatefulSet financial-inference/mlserver"
    container: str | None = None  # the container it limits, when read from a workload

    @property
    def described(self) -> str:
        where = f" (from {self.source})" if self.source else ""
        return f"{self.owner} memory limit {self.quantity}{where}"

    @property
    def bytes(self) -> int:
        return parse_quantity(self.quantity)


@dataclass(frozen=True)
class TensorSpec:
    """A tensor input or output: numpy dtype and shape (-1: any size); a name is compared only when given."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def __str__(self) -> str:
        dims = ", ".join(map(str, self.shape)) + ("," if len(self.shape) == 1 else "")
        named = f"{self.name!r} " if self.name else ""
        return f"{named}{self.dtype} ({dims})"


@dataclass(frozen=True)
class ColumnSpec:
    """A column input or output (a DataFrame's): its name and MLflow type (double, long, string, ...)."""

    name: str
    type: str

    def __str__(self) -> str:
        return f"column {self.name!r} {self.type}"


Spec = TensorSpec | ColumnSpec


@dataclass(frozen=True)
class ExpectedSignature:
    """What the app sends the model (`inputs`) and, when given, what it reads back (`outputs`)."""

    inputs: tuple[Spec, ...]
    outputs: tuple[Spec, ...] | None = None


@dataclass(frozen=True)
class RuleSettings:
    format: ModelFormat = "auto"
    memory_limit: MemoryLimit | None = None
    max_size_ratio: float = 1.0  # bytes of memory a byte of model needs once loaded (1.0: the file size)
    server_reserve: int = 0  # bytes the serving process needs by itself, on top of the model
    signature: ExpectedSignature | None = None


@dataclass(frozen=True)
class Verdict:
    detected_format: ModelFormat | None  # None: the structure was not recognised
    total_bytes: int
    checks: tuple[CheckResult, ...]

    @property
    def errors(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok and c.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok and c.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- Kubernetes quantities --------------------------------------------------------------------------------

_BINARY: dict[str, int] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL: dict[str, Decimal | int] = {
    "m": Decimal("0.001"),
    "": 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}
_DECIMAL.update({"P": 10**15, "E": 10**18})
_QUANTITY = re.compile(
    r"^\s*([+]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[mkKMGTPE]))?\s*$"
)


class QuantityError(ValueError):
    pass


def parse_quantity(text: str | int | float) -> int:
    """Bytes in a Kubernetes memory quantity (`256Mi`, `1.5Gi`, `500M`, `1e9`, `134217728`), rounded up.

    `K` is accepted as well as Kubernetes' `k`, since people write it. Raises QuantityError otherwise.
    """
    if isinstance(text, bool):
        raise QuantityError(f"{text!r} is not a memory quantity")
    if isinstance(text, int | float):
        text = repr(text)
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(
            f"{text!r} is not a memory quantity: write bytes or a number with Ki, Mi, Gi, K, M or G (256Mi)"
        )
    number_text, exponent, suffix = match.groups()
    try:
        number = Decimal(number_text)
        if exponent:
            number *= Decimal(10) ** int(exponent[1:])
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise QuantityError(f"{text!r} is not a memory quantity") from exc
    factor = Decimal(_BINARY.get(suffix or "") or _DECIMAL[suffix or ""])
    return int((number * factor).to_integral_value(rounding=ROUND_CEILING))


def human_bytes(size: int) -> str:
    """`210 MiB`, `1.5 GiB`, `812 B`: for messages, in the binary units Kubernetes limits are written in."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "B":
                return f"{size} B"
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


# --- what to read -----------------------------------------------------------------------------------------


def files_to_read(listing: Sequence[ArtifactFile]) -> list[str]:
    """The files whose contents `evaluate` needs: MLmodel, JSON configs and small weights files."""
    wanted: list[str] = []
    for entry in listing:
        name = entry.path.rsplit("/", 1)[-1]
        if name == MLMODEL or name.endswith(".json"):
            if entry.size <= MAX_CONFIG_BYTES:
                wanted.append(entry.path)
        elif _is_weights(entry.path) and entry.size <= PLACEHOLDER_SCAN_BYTES:
            wanted.append(entry.path)
    return wanted


# --- the rules --------------------------------------------------------------------------------------------


def evaluate(
    listing: Sequence[ArtifactFile], contents: Mapping[str, bytes], settings: RuleSettings, location: str
) -> Verdict:
    """Every check on the model at `location` (a URI, for messages). `contents` holds `files_to_read`."""
    files = {f.path: f for f in listing}
    total = sum(f.size for f in listing)
    if not files:
        empty = CheckResult(
            "structure",
            False,
            f"no files at {location}: the storage URI points at an empty or missing directory",
        )
        return Verdict(None, 0, (empty,))
    detected, structure = _structure(files, settings.format, location)
    checks: list[CheckResult] = [structure]
    if detected == "mlflow":
        mlmodel_checks, document = _mlmodel(files, contents)
        checks.extend(mlmodel_checks)
        if settings.signature is not None and document is not None:
            checks.append(_signature(document, settings.signature))
    elif detected is not None and settings.signature is not None:
        checks.append(
            CheckResult(
                "signature",
                False,
                f"a {_SHORT_NAMES[detected]} model records no signature: `signature` is for MLflow models",
                Severity.WARNING,
            )
        )
    checks.append(_json_configs(files, contents))
    checks.append(_placeholders(files, contents))
    checks.append(_size(total, len(files), settings))
    return Verdict(detected, total, tuple(checks))


def _structure(
    files: Mapping[str, ArtifactFile], wanted: ModelFormat, location: str
) -> tuple[ModelFormat | None, CheckResult]:
    missing = {
        "mlflow": [p for p in (MLMODEL,) if p not in files],
        "lora": [p for p in LORA_FILES if p not in files],
        "fused": [p for p in FUSED_FILES if p not in files],
    }
    if wanted != "auto":
        if not missing[wanted]:
            return wanted, CheckResult("structure", True, f"{FORMAT_NAMES[wanted]} layout")
        return None, CheckResult(
            "structure",
            False,
            f"not a {FORMAT_NAMES[wanted]} model at {location}: missing {', '.join(missing[wanted])}",
        )
    for candidate in ("mlflow", "lora", "fused"):
        if not missing[candidate]:
            return candidate, CheckResult("structure", True, f"{FORMAT_NAMES[candidate]} layout (detected)")
    # Seed 002: fail fast on a structure that is none of the known ones, saying exactly what each lacks.
    lacks = "; ".join(f"{_SHORT_NAMES[name]} lacks {', '.join(paths)}" for name, paths in missing.items())
    return None, CheckResult(
        "structure",
        False,
        f"unknown model structure at {location}: {lacks} (found {_sample(files)})",
    )


FORMAT_NAMES: Mapping[str, str] = {
    "mlflow": "MLflow",
    "lora": "LoRA (adapters/adapters.safetensors + adapters/adapter_config.json)",
    "fused": "fused (model.safetensors + config.json)",
}

_SHORT_NAMES: Mapping[str, str] = {"mlflow": "MLflow", "lora": "LoRA", "fused": "fused"}

# Keys of MLmodel flavors that name a file or directory of the model (sklearn, pytorch, pyfunc and friends).
_FLAVOR_PATH_KEYS = ("pickled_model", "model_path", "model_data", "data", "code")


def _mlmodel(
    files: Mapping[str, ArtifactFile], contents: Mapping[str, bytes]
) -> tuple[list[CheckResult], Mapping[str, object] | None]:
    """The MLmodel checks, and the parsed document when it is one (for the signature check)."""
    raw = contents.get(MLMODEL)
    if raw is None:
        too_large = f"MLmodel is {human_bytes(files[MLMODEL].size)}: too large to be one"
        return [CheckResult("mlmodel", False, too_large)], None
    try:
        document = YAML(typ="safe", pure=True).load(raw.decode("utf-8", errors="replace"))
    except YAMLError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return [CheckResult("mlmodel", False, f"MLmodel is not valid YAML ({problem})")], None
    flavors = document.get("flavors") if isinstance(document, Mapping) else None
    if not isinstance(document, Mapping) or not isinstance(flavors, Mapping) or not flavors:
        no_flavors = "MLmodel has no `flavors`: no MLflow server can load it"
        return [CheckResult("mlmodel", False, no_flavors)], None
    results = [
        CheckResult("mlmodel", True, f"MLmodel parses; flavors {', '.join(sorted(map(str, flavors)))}")
    ]
    dangling = sorted(
        f"{flavor}.{key} -> {value}"
        for flavor, body in flavors.items()
        if isinstance(body, Mapping)
        for key in _FLAVOR_PATH_KEYS
        if isinstance(value := body.get(key), str) and value and not _present(files, value)
    )
    if dangling:
        results.append(
            CheckResult("flavorFiles", False, f"MLmodel names files that are missing: {', '.join(dangling)}")
        )
    else:
        results.append(CheckResult("flavorFiles", True, "every file MLmodel names is present"))
    return results, document


# --- the signature: what the model takes, against what the app sends ---------------------------------------

_NO_SIGNATURE = (
    "the model was logged without a signature: log it with one, or drop `signature` from the check"
)


def _signature(document: Mapping[str, object], expected: ExpectedSignature) -> CheckResult:
    """Compare MLmodel's `signature` (JSON strings inside the YAML) with the playbook's expectation.

    A dimension the model declares as -1 takes any size, so it accepts whatever the playbook says; a fixed
    dimension of the model is matched only by the same number (the playbook's -1, "any size", could send
    another). Dtypes, column types and names must be equal; a tensor's name is compared only when the
    playbook gives one. This is what MLflow's schema enforcement (MLServer's MLflow runtime) will refuse.
    """
    signature = document.get("signature")
    if not isinstance(signature, Mapping) or not signature.get("inputs"):
        return CheckResult("signature", False, _NO_SIGNATURE)
    problems: list[str] = []
    sides: list[tuple[str, tuple[Spec, ...]]] = [("inputs", expected.inputs)]
    if expected.outputs is not None:
        sides.append(("outputs", expected.outputs))
    for side, wanted in sides:
        declared = _declared_specs(signature.get(side))
        if isinstance(declared, str):
            problems.append(f"MLmodel's signature.{side} {declared}")
            continue
        problems.extend(_compare(side, declared, wanted))
    if problems:
        return CheckResult(
            "signature",
            False,
            "the model's signature does not match what the playbook's app uses: "
            + "; ".join(problems)
            + ": deploy a model trained for the app's features, or correct `signature` if the app changed",
        )
    inputs = ", ".join(map(str, expected.inputs))
    return CheckResult("signature", True, f"signature takes what the app sends ({inputs})")


def _declared_specs(value: object) -> list[Spec | str] | str:
    """MLmodel's specs for one side; a string (why not) when there are none or they cannot be read."""
    if value is None:
        return "is missing"
    if not isinstance(value, str):
        return "is not a JSON string"
    try:
        raw = json.loads(value)
    except ValueError:
        return "is not valid JSON"
    if not isinstance(raw, list):
        return "is not a list"
    return [_declared_spec(entry) for entry in raw]


def _declared_spec(entry: object) -> Spec | str:
    """One MLflow spec: {"type": "tensor", "tensor-spec": {dtype, shape}} or {"type": "double", "name": x}."""
    if not isinstance(entry, Mapping):
        return f"an unreadable spec ({entry!r})"
    name = entry.get("name")
    kind = entry.get("type")
    if kind == "tensor":
        tensor = entry.get("tensor-spec")
        shape = tensor.get("shape") if isinstance(tensor, Mapping) else None
        if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
            return "a tensor without a readable tensor-spec"
        assert isinstance(tensor, Mapping)  # shape came from it
        return TensorSpec(str(tensor.get("dtype")), tuple(shape), _opt_name(name))
    if isinstance(kind, str) and isinstance(name, str):
        return ColumnSpec(name, kind)
    if isinstance(kind, str):
        return f"an unnamed {kind}"
    return f"an unreadable spec ({json.dumps(entry)[:60]})"


def _opt_name(name: object) -> str | None:
    return name if isinstance(name, str) and name else None


def _compare(side: str, declared: Sequence[Spec | str], wanted: Sequence[Spec]) -> list[str]:
    singular = side.removesuffix("s")
    model_does, app_does = (
        ("expects", "the playbook's app sends") if side == "inputs" else ("returns", "the playbook expects")
    )
    if len(declared) != len(wanted):
        listed = ", ".join(map(str, declared)) or "none"
        return [
            f"{side}: the model {model_does} {len(declared)} ({listed}), {app_does} {len(wanted)} "
            f"({', '.join(map(str, wanted))})"
        ]
    return [
        f"{singular} {index}: the model {model_does} {have}, {app_does} {want}"
        for index, (have, want) in enumerate(zip(declared, wanted, strict=True))
        if not _matches(have, want)
    ]


def _matches(have: Spec | str, want: Spec) -> bool:
    if isinstance(have, ColumnSpec) and isinstance(want, ColumnSpec):
        return have == want
    if isinstance(have, TensorSpec) and isinstance(want, TensorSpec):
        if want.name is not None and have.name != want.name:
            return False
        return (
            have.dtype == want.dtype
            and len(have.shape) == len(want.shape)
            and all(h in (ANY_SIZE, w) for h, w in zip(have.shape, want.shape, strict=True))
        )
    return False


def _present(files: Mapping[str, ArtifactFile], path: str) -> bool:
    path = path.strip("/").removeprefix("./")
    return path in files or any(name.startswith(path + "/") for name in files)


def _json_configs(files: Mapping[str, ArtifactFile], contents: Mapping[str, bytes]) -> CheckResult:
    configs = sorted(p for p in files if p.endswith(".json"))
    if not configs:
        return CheckResult("jsonConfigs", True, "no JSON configs")
    broken: list[str] = []
    skipped: list[str] = []
    for path in configs:
        raw = contents.get(path)
        if raw is None:
            skipped.append(path)
            continue
        try:
            json.loads(raw)
        except ValueError as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
            broken.append(f"{path} ({reason})")
    if broken:
        return CheckResult("jsonConfigs", False, f"JSON configs that do not parse: {', '.join(broken)}")
    if skipped:
        return CheckResult(
            "jsonConfigs",
            False,
            f"{len(configs) - len(skipped)} JSON configs parse; not read (over "
            f"{human_bytes(MAX_CONFIG_BYTES)}): {', '.join(skipped)}",
            Severity.WARNING,
        )
    return CheckResult("jsonConfigs", True, f"{len(configs)} JSON config(s) parse")


def _placeholders(files: Mapping[str, ArtifactFile], contents: Mapping[str, bytes]) -> CheckResult:
    """Seed 001's CI wrote text files named like weights; a real weights file is binary and not tiny."""
    weights = sorted(p for p in files if _is_weights(p))
    found: list[str] = []
    for path in weights:
        size = files[path].size
        head = contents.get(path, b"")
        if size < PLACEHOLDER_MAX_BYTES:
            found.append(f"{path} ({size} bytes)")
        elif _looks_like_placeholder_text(head):
            found.append(f"{path} (text {_quote(head)})")
    if found:
        return CheckResult(
            "placeholders",
            False,
            f"placeholder files instead of weights: {', '.join(found)}: rebuild the model with real weights",
        )
    return CheckResult("placeholders", True, f"{len(weights)} weights file(s), none a placeholder")


def _looks_like_placeholder_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = all(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable and _PLACEHOLDER_TEXT.search(head) is not None


def _size(total: int, count: int, settings: RuleSettings) -> CheckResult:
    """The model (times `max_size_ratio`) plus the server's own reserve must fit the memory limit."""
    size = f"model is {human_bytes(total)} in {count} file(s)"
    limit = settings.memory_limit
    if limit is None:
        return CheckResult("size", True, f"{size}; no memory limit to compare with")
    model_needs = total * settings.max_size_ratio
    needed = model_needs + settings.server_reserve
    ratio = (
        ""
        if settings.max_size_ratio == 1.0
        else f" (x{settings.max_size_ratio:g} = {human_bytes(int(model_needs))})"
    )
    reserve = f" + server reserve {human_bytes(settings.server_reserve)}" if settings.server_reserve else ""
    source = f" (from {limit.source})" if limit.source else ""
    if needed > limit.bytes:
        if settings.server_reserve:
            return CheckResult(
                "size",
                False,
                f"model {human_bytes(total)}{ratio}{reserve} > {limit.owner} memory limit {limit.quantity}"
                f"{source}: it would be OOMKilled; raise the limit or shrink the model (`serverReserve` is "
                "what the server takes by itself)",
            )
        return CheckResult(
            "size",
            False,
            f"model is {human_bytes(total)}{ratio} but {limit.owner} memory limit is {limit.quantity}"
            f"{source}: it would be OOMKilled; raise the limit or shrink the model",
        )
    if needed > NEAR_LIMIT_FRACTION * limit.bytes:
        return CheckResult(
            "size",
            False,
            f"model is {human_bytes(total)}{ratio}{reserve}, over {NEAR_LIMIT_FRACTION:.0%} of "
            f"{limit.described}: little room left for the server itself",
            Severity.WARNING,
        )
    return CheckResult("size", True, f"{size}{ratio}{reserve}, fits {limit.described}")


def _is_weights(path: str) -> bool:
    return path.lower().endswith(WEIGHT_SUFFIXES)


def _quote(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").strip()
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _sample(files: Mapping[str, ArtifactFile], limit: int = 5) -> str:
    names = sorted(files)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def summarize(verdict: Verdict, location: str) -> str:
    """One message for the item: what was recognised, then the errors, then the warnings."""
    kind = _SHORT_NAMES.get(verdict.detected_format or "", "unrecognised")
    head = f"{kind} model at {location}, {human_bytes(verdict.total_bytes)}"
    parts = [head]
    if verdict.errors:
        parts.append("errors: " + "; ".join(c.message for c in verdict.errors))
    if verdict.warnings:
        parts.append("warnings: " + "; ".join(c.message for c in verdict.warnings))
    if not verdict.errors and not verdict.warnings:
        parts.append(f"all {len(verdict.checks)} checks passed")
    return " | ".join(parts)
