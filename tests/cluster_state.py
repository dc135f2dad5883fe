"""The state of a cluster's platform namespaces as a comparable dump, for tests that prove two runs converge.

A fault-injection or crash test runs the same drill twice (fault-free, then faulty or killed and resumed) and
asserts that both leave the same cluster. `snapshot()` lists every object of every namespaced kind the
cluster serves in the given namespaces (plus those Namespace objects), and normalises away what honestly
differs between two healthy runs; `compare()` says, readably, what is left. The normalisation is written
here, independently of drkit's own inventories (drkit.reproduction), so a test does not check drkit with
drkit's code.

What is normalised, and why each differs between two healthy runs of the same drill:

- metadata `uid`, `resourceVersion`, `creationTimestamp`, `managedFields` (their `time`), `selfLink`: the
  server assigns them to every object it (re)creates.
- metadata `generation` and status `observedGeneration`: the count of spec writes. A resumed step writes
  its objects again (server-side apply of the same content does not bump it, but a delete and recreate
  around a crash restarts it); the spec itself is compared.
- ownerReferences' `uid`: the owner's uid, above.
- Any status field that is a point in time or a duration (`lastTransitionTime`, `startedAt`, `finishedAt`,
  `startTime`, `lastUpdateTime`, `estimatedDuration`, `resourcesDuration`, ...): when things happened, not
  what happened.
- Generated names: a Workflow (created by generateName) is keyed by its `drkit.io/step` label instead of its
  random name, and that name is replaced by `<workflow>` wherever it appears inside it (pod names); Argo's
  node ids (hashes of the node names, so of the Workflow's name) become their nodes' names. Other objects
  named from a generateName are keyed by that prefix and their position.
- The `drkit.io/run-id` label (and the run id wherever it appears): each run has its own.
- MLflow ids in strings (`m-<32 hex>` logged-model ids, 32-hex run ids): every run trains anew and MLflow
  names each training afresh; the storage paths around them are compared.
- Pod and Endpoint addresses (`podIP(s)`, `hostIP(s)`, endpoint `ip`s and container ids): assigned per pod.
- Events: history, not state (their names are random and their counts depend on timing); not dumped.

Deletion fields (`deletionTimestamp`) are kept as `<set>`: an object still terminating is a real difference.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from drkit.kube import Cluster

PLATFORM_NAMESPACES = ("financial-inference", "financial-mlops-pytorch")
RUN_ID_LABEL = "drkit.io/run-id"
STEP_LABEL = "drkit.io/step"
WORKFLOW = ("argoproj.io", "Workflow")

State = dict[str, dict[str, Any]]  # "Kind.group namespace/name" -> the normalised object

SKIPPED_KINDS = frozenset({("", "Event"), ("events.k8s.io", "Event")})
DROPPED_METADATA = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "selfLink", "generation")
# Status keys that are points in time or durations (matched by name, anywhere under status).
TIME_KEY = re.compile(r"(Time|At|Timestamp|Duration|Heartbeat)$|^(time|duration|progress)$")
ADDRESS_KEYS = frozenset({"podIP", "podIPs", "hostIP", "hostIPs", "containerID", "imageID", "ip"})
MLFLOW_MODEL_ID = re.compile(r"\bm-[0-9a-f]{32}\b")
MLFLOW_RUN_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
DRKIT_RUN_ID = re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b")


def snapshot(
    cluster: Cluster,
    namespaces: Sequence[str] = PLATFORM_NAMESPACES,
    *,
    skip: Iterable[tuple[str, str]] = (),
) -> State:
    """Every object of every namespaced kind the cluster lists in `namespaces`, plus those Namespaces,
    normalised (see the module docstring). `skip` adds (group, kind) pairs not to dump."""
    skipped = SKIPPED_KINDS | frozenset(skip)
    served = cluster.served_resources("list")
    if served.failures:
        raise AssertionError(f"discovery failed for {', '.join(served.failures)}: the dump would be partial")
    objects: list[dict[str, Any]] = []
    for info in served.resources:
        if not info.namespaced or (info.group, info.kind) in skipped:
            continue
        for namespace in namespaces:
            objects.extend(cluster.list(info.api_version, info.kind, namespace))
    for namespace in namespaces:
        found = cluster.get("v1", "Namespace", namespace)
        if found is not None:
            objects.append(found)
    return normalise_all(objects)


def normalise_all(objects: Iterable[Mapping[str, Any]]) -> State:
    """Normalised objects by their stable key (generated names replaced, see the module docstring)."""
    state: State = {}
    by_prefix: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        if _group_kind(obj) != WORKFLOW and meta.get("generateName"):
            by_prefix.setdefault(_key(obj, f"{meta['generateName']}*"), []).append(obj)
            continue
        key, normalised = _stable(obj)
        if key in state:
            raise AssertionError(f"two objects share the key {key}: {meta.get('name')!r} and another")
        state[key] = normalised
    for prefix_key, group in by_prefix.items():
        normalised = sorted(
            (normalise(obj, own_name=str(obj["metadata"]["name"])) for obj in group),
            key=lambda o: json.dumps(o, sort_keys=True),
        )
        for position, obj in enumerate(normalised):
            state[f"{prefix_key}[{position}]"] = obj
    return dict(sorted(state.items()))


def _stable(obj: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    if _group_kind(obj) == WORKFLOW and meta.get("generateName"):
        step = (meta.get("labels") or {}).get(STEP_LABEL)
        label = f"step={step}" if step else f"{meta['generateName']}*"
        return _key(obj, label), normalise(obj, own_name=name)
    return _key(obj, name), normalise(obj)


def normalise(obj: Mapping[str, Any], *, own_name: str | None = None) -> dict[str, Any]:
    """One object with what differs between two healthy runs replaced (see the module docstring).
    `own_name`, a generated name, becomes `<workflow>`/`<generated>` wherever it appears in the object."""
    result: dict[str, Any] = copy.deepcopy(dict(obj))
    meta = result.get("metadata")
    if isinstance(meta, dict):
        for name in DROPPED_METADATA:
            meta.pop(name, None)
        if meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = "<set>"
        labels = meta.get("labels")
        if isinstance(labels, dict) and RUN_ID_LABEL in labels:
            labels[RUN_ID_LABEL] = "<run-id>"
        for owner in meta.get("ownerReferences") or []:
            if isinstance(owner, dict):
                owner.pop("uid", None)
    status = result.get("status")
    if isinstance(status, dict):
        result["status"] = _status(status)
    replacements: list[tuple[str, str]] = []
    if own_name:
        placeholder = "<workflow>" if _group_kind(obj) == WORKFLOW else "<generated>"
        replacements = [*_node_ids(result, own_name, placeholder), (own_name, placeholder)]
    return _strings(result, replacements)


def _node_ids(workflow: Mapping[str, Any], own_name: str, placeholder: str) -> list[tuple[str, str]]:
    """Argo's node ids (a hash of the node's name, itself made of the Workflow's): each becomes its node's
    name, longest first so that no id is replaced inside another."""
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    names = {
        str(node_id): f"<node {str(node.get('name', node_id)).replace(own_name, placeholder)}>"
        for node_id, node in nodes.items()
        if isinstance(node, dict) and str(node_id) != own_name
    }
    return sorted(names.items(), key=lambda item: -len(item[0]))


def _status(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "observedGeneration":
                continue
            if TIME_KEY.search(key) or key in ADDRESS_KEYS:
                out[key] = "<time>" if TIME_KEY.search(key) else "<address>"
                continue
            out[key] = _status(item)
        return out
    if isinstance(value, list):
        return [_status(item) for item in value]
    return value


def _strings(value: Any, replacements: Sequence[tuple[str, str]]) -> Any:
    if isinstance(value, dict):
        return {_strings(k, replacements): _strings(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(item, replacements) for item in value]
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        value = MLFLOW_MODEL_ID.sub("m-<mlflow-model-id>", value)
        value = MLFLOW_RUN_ID.sub("<mlflow-run-id>", value)
        return DRKIT_RUN_ID.sub("<run-id>", value)
    return value


def compare(a: State, b: State, *, names: tuple[str, str] = ("a", "b")) -> str:
    """A readable diff of two states: objects only in one, then each changed object as a unified diff of
    its JSON. Empty when they are equal."""
    left, right = names
    lines: list[str] = []
    for key in sorted(a.keys() - b.keys()):
        lines.append(f"- only in {left}: {key}")
    for key in sorted(b.keys() - a.keys()):
        lines.append(f"+ only in {right}: {key}")
    for key in sorted(a.keys() & b.keys()):
        if a[key] == b[key]:
            continue
        lines.append(f"~ {key} differs:")
        lines.extend(
            "    " + line.rstrip("\n")
            for line in difflib.unified_diff(
                _pretty(a[key]), _pretty(b[key]), fromfile=left, tofile=right, n=2
            )
        )
    return "\n".join(lines)


def workflows_per_step(
    cluster: Cluster, namespaces: Sequence[str] = PLATFORM_NAMESPACES
) -> Counter[tuple[str, str]]:
    """How many Workflows carry each (drkit.io/run-id, drkit.io/step) pair, over `namespaces`."""
    counts: Counter[tuple[str, str]] = Counter()
    for namespace in namespaces:
        for workflow in cluster.list(
            "argoproj.io/v1alpha1", "Workflow", namespace, label_selector=RUN_ID_LABEL
        ):
            labels = workflow["metadata"].get("labels") or {}
            counts[(str(labels[RUN_ID_LABEL]), str(labels.get(STEP_LABEL, "")))] += 1
    return counts


def _pretty(obj: Mapping[str, Any]) -> list[str]:
    return [line + "\n" for line in json.dumps(obj, indent=2, sort_keys=True, default=str).splitlines()]


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    return str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", ""))


def _key(obj: Mapping[str, Any], name: str) -> str:
    group, kind = _group_kind(obj)
    namespace = (obj.get("metadata") or {}).get("namespace")
    where = f"{namespace}/{name}" if namespace else name
    return f"{kind}.{group} {where}" if group else f"{kind} {where}"
