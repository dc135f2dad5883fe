"""The `modelArtifact` checklist item: the model a URI (or a Seldon Model) names is one its server can load.

A wrongly built or oversized model registers in MLflow without complaint and fails only once deployed, as
an OOMKilled pod, a load error or a shape error on the app's first request (seeds 000 and 002). This item
looks at the files before that: it lists the model directory (through the MLflow artifact proxy or locally,
drkit.mlflow.artifacts), reads the few small files the rules need, and judges them with
drkit.domain.artifact_rules: against the memory limit of the container that will serve the model (read from
the Seldon Server, its StatefulSet, or a Deployment) less what the server takes by itself, and against the
signature the playbook says the app's requests have. Everything here is read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from drkit.domain import artifact_rules as rules
from drkit.domain.artifact_rules import (
    CheckResult,
    ColumnSpec,
    ExpectedSignature,
    MemoryLimit,
    ModelFormat,
    RuleSettings,
    Severity,
    Spec,
    TensorSpec,
)
from drkit.errors import AdapterError
from drkit.kube import Cluster
from drkit.manifests.models import find_models, read_text
from drkit.mlflow.artifacts import ArtifactTransport, open_tree
from drkit.mlflow.client import AUTH_MODES, Auth, MlflowClient, MlflowSettings
from drkit.playbook.fields import Bool, Field, Float, Int, KindSchema, ListOf, Obj, OneOf, Str
from drkit.playbook.model import Playbook
from drkit.steps.access import Access, AccessScope, StepAccess, on
from drkit.steps.base import ProbeKind, StepContext, StepResult, StepStatus
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    list_of,
    opt_bool,
    opt_choice,
    opt_list,
    opt_number,
    opt_str,
    req_str,
)

SELDON_API = "mlops.seldon.io/v1alpha1"
ServerKind = Literal["Server", "Deployment", "StatefulSet"]
SERVER_KINDS: tuple[ServerKind, ...] = ("Server", "Deployment", "StatefulSet")

DEFAULT_SERVER_CONTAINER = "mlserver"
REQUEST_TIMEOUT_SECONDS = 10.0

_OBJECT = Obj(
    fields={
        "namespace": Field(Str(min_length=1), required=True, description="Its namespace."),
        "name": Field(Str(min_length=1), required=True, description="Its name."),
    }
)
_SERVER = Obj(
    description="The workload that will serve the model: its container's resources.limits.memory.",
    fields={
        "namespace": Field(Str(min_length=1), required=True, description="Its namespace."),
        "name": Field(Str(min_length=1), required=True, description="Its name."),
        "kind": Field(
            Str(enum=SERVER_KINDS), description="Server (Seldon, default), Deployment, StatefulSet."
        ),
        "container": Field(
            Str(min_length=1),
            description="The serving container (for a Server: mlserver, or triton for a Triton server).",
        ),
    },
)
_MLFLOW = Obj(
    description="The MLflow server whose artifact proxy serves the model files.",
    fields={
        "url": Field(Str(min_length=1), required=True, description="Tracking server URL."),
        "auth": Field(
            Str(enum=AUTH_MODES),
            description="env: MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN (default); none.",
        ),
        "verifyTls": Field(Bool(), description="Verify the server's TLS certificate (default true)."),
        "caBundle": Field(Str(), description="CA bundle file, relative to the playbook's directory."),
    },
)

# numpy dtype names, as MLflow writes them in a tensor-spec.
TENSOR_DTYPES = (
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint64",
    "uint32",
    "uint16",
    "uint8",
    "bool",
    "str",
    "bytes",
    "object",
    "datetime64",
)
# MLflow's column types (mlflow.types.DataType), and its nested ones compared by name only.
COLUMN_TYPES = (
    "double",
    "float",
    "long",
    "integer",
    "boolean",
    "string",
    "binary",
    "datetime",
    "array",
    "object",
    "map",
)
_SPEC = Obj(
    description="A tensor {dtype, shape} (optionally name) or a column {name, type}.",
    fields={
        "name": Field(
            Str(min_length=1), description="A column's name; a tensor's, compared only when given."
        ),
        "dtype": Field(Str(enum=TENSOR_DTYPES), description="A tensor's numpy dtype."),
        "shape": Field(
            ListOf(Int(minimum=-1)),
            description="A tensor's shape, e.g. [-1, 4]; -1 is a dimension of any size (the batch).",
        ),
        "type": Field(Str(enum=COLUMN_TYPES), description="A column's MLflow type."),
    },
    exactly_one_of=(("dtype", "type"),),
    requires=(("dtype", ("shape",)), ("shape", ("dtype",)), ("type", ("name",))),
)
_SIGNATURE = Obj(
    fields={
        "inputs": Field(
            ListOf(_SPEC, min_items=1), required=True, description="What the app sends, in order."
        ),
        "outputs": Field(
            ListOf(_SPEC, min_items=1), description="What the app reads back (not compared when absent)."
        ),
    },
)

BODY = Obj(
    description="Validate a model's files before serving: layout, configs, placeholders, size vs memory.",
    fields={
        "storageUri": Field(Str(min_length=1), description="The model directory (the one holding MLmodel)."),
        "model": Field(_OBJECT, description="A Seldon Model; its spec.storageUri is checked."),
        "manifest": Field(
            Obj(
                description="A Seldon Model in a manifest file (checked before it is applied).",
                fields={
                    "file": Field(Str(min_length=1), required=True, description="Relative to the playbook."),
                    "name": Field(
                        Str(min_length=1), required=True, description="metadata.name of the Model."
                    ),
                },
            ),
            description="A Model manifest on disk: validate what is about to be deployed.",
        ),
        "mlflow": Field(_MLFLOW, description="MLflow server for mlflow-artifacts:/ and storageRoot URIs."),
        "storageRoot": Field(
            Str(min_length=1),
            description="The bucket behind the MLflow artifact proxy, e.g. s3://mlflow-artifacts/.",
        ),
        "format": Field(
            Str(enum=rules.MODEL_FORMATS), description="The expected layout (default auto: detect it)."
        ),
        "memoryLimit": Field(
            OneOf((Str(min_length=1), Int(minimum=1))), description="A memory limit such as 256Mi."
        ),
        "server": Field(_SERVER, description="Read the memory limit from this workload instead."),
        "maxSizeRatio": Field(
            Float(minimum=0.01), description="Memory needed per byte of model files (default 1.0)."
        ),
        "serverReserve": Field(
            OneOf((Str(min_length=1), Int(minimum=0))),
            description=(
                "Memory the server takes by itself, added to the model's size before the limit is compared "
                f"(default {rules.DEFAULT_MLSERVER_RESERVE} when the limit is a Seldon Server's mlserver "
                "container's: MLServer and its inference worker use about 520 MB; 0 otherwise)."
            ),
        ),
        "signature": Field(
            _SIGNATURE,
            description=(
                "What the app sends the model (and reads back), compared with MLmodel's signature: dtypes, "
                "column types and names must be equal; a dimension the model declares as -1 takes any size, "
                "a fixed one must be the same number here."
            ),
        ),
    },
    exactly_one_of=(("storageUri", "model", "manifest"),),
    at_most_one_of=(("memoryLimit", "server"),),
)

SCHEMA = KindSchema(
    kind="modelArtifact",
    body=BODY,
    description="A model's files are a loadable model (MLflow, LoRA or fused) that fits its server's memory.",
    examples=(
        {
            "model": {"namespace": "financial-inference", "name": "baseline-predictor"},
            "mlflow": {"url": "http://mlflow.mlflow.svc.cluster.local:5000"},
            "storageRoot": "s3://mlflow-artifacts/",
            "server": {"namespace": "financial-inference", "name": "mlserver"},
            "serverReserve": "512Mi",
            "signature": {"inputs": [{"dtype": "float64", "shape": [-1, 4]}]},
        },
        {"storageUri": "/models/webauthn-security", "format": "auto", "memoryLimit": "8Gi"},
    ),
)


@dataclass(frozen=True)
class ObjectName:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class ServerRef:
    namespace: str
    name: str
    kind: ServerKind = "Server"
    container: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class MlflowEndpoint:
    url: str
    auth: Auth = "env"
    verify_tls: bool = True
    ca_bundle: str | None = None


@dataclass(frozen=True)
class ManifestModel:
    file: str  # relative to the playbook's directory
    name: str

    def __str__(self) -> str:
        return f"Model {self.name} in {self.file}"


@dataclass(frozen=True)
class ModelArtifactSettings:
    storage_uri: str | None
    model: ObjectName | None
    mlflow: MlflowEndpoint | None
    storage_root: str | None
    format: ModelFormat
    memory_limit: str | None
    server: ServerRef | None
    max_size_ratio: float
    manifest: ManifestModel | None = None
    server_reserve: int | None = None  # bytes; None: the default for the server the limit comes from
    signature: ExpectedSignature | None = None

    def describe(self) -> str:
        what = (
            self.storage_uri
            if self.storage_uri is not None
            else str(self.manifest)
            if self.manifest is not None
            else f"Model {self.model}"
        )
        against = (
            f" against {self.memory_limit}"
            if self.memory_limit
            else f" against the memory limit of {self.server}"
            if self.server
            else ""
        )
        layout = "MLflow, LoRA or fused" if self.format == "auto" else rules.FORMAT_NAMES[self.format]
        takes = "" if self.signature is None else " taking " + ", ".join(map(str, self.signature.inputs))
        return f"model files of {what} are a loadable {layout} model{takes}{against}"


def parse_settings(body: object) -> ModelArtifactSettings:
    data = as_mapping(body, "modelArtifact")
    memory, reserve = data.get("memoryLimit"), data.get("serverReserve")
    memory_limit = None if memory is None else str(memory)
    if memory_limit is not None:
        _quantity(memory_limit, "memoryLimit")  # kept as written: the report shows it so
    server = _server(data.get("server"))
    return ModelArtifactSettings(
        storage_uri=opt_str(data, "storageUri"),
        model=_object_name(data.get("model"), "model"),
        mlflow=_mlflow(data.get("mlflow")),
        storage_root=opt_str(data, "storageRoot"),
        format=opt_choice(data, "format", rules.MODEL_FORMATS, "auto"),
        memory_limit=memory_limit,
        server=server,
        max_size_ratio=opt_number(data, "maxSizeRatio", 1.0),
        manifest=_manifest(data.get("manifest")),
        server_reserve=None if reserve is None else _quantity(str(reserve), "serverReserve"),
        signature=_signature(data.get("signature")),
    )


def _quantity(text: str, key: str) -> int:
    """Bytes of a Kubernetes memory quantity; its grammar is more than a schema pattern should hold."""
    try:
        return rules.parse_quantity(text)
    except rules.QuantityError as exc:
        raise StepConfigError(f"`{key}`: {exc}") from exc


def _signature(value: object) -> ExpectedSignature | None:
    """The playbook's signature, shaped by the schema (a tensor: dtype and shape; a column: name and type)."""
    if value is None:
        return None
    data = as_mapping(value, "modelArtifact.signature")
    outputs = data.get("outputs")
    return ExpectedSignature(
        _specs(opt_list(data, "inputs")), None if outputs is None else _specs(opt_list(data, "outputs"))
    )


def _specs(entries: list[object]) -> tuple[Spec, ...]:
    specs: list[Spec] = []
    for entry in entries:
        spec = as_mapping(entry, "modelArtifact.signature item")
        name, dtype = opt_str(spec, "name"), opt_str(spec, "dtype")
        if dtype is not None:  # exactly_one_of dtype and type; dtype requires shape, type requires name
            specs.append(TensorSpec(dtype, list_of(spec, "shape", int), name))
        else:
            specs.append(ColumnSpec(str(name), req_str(spec, "type")))
    return tuple(specs)


def _manifest(value: object) -> ManifestModel | None:
    if value is None:
        return None
    data = as_mapping(value, "modelArtifact.manifest")  # file and name are required
    return ManifestModel(req_str(data, "file"), req_str(data, "name"))


def manifest_storage(base_dir: Path, manifest: ManifestModel) -> str:
    """The storageUri a Model manifest on disk would deploy. ManifestError/AdapterError when there is none."""
    path = base_dir / manifest.file
    for target in find_models(path, read_text(path)):
        if target.name == manifest.name:
            if not target.storage_uri:
                raise AdapterError(f"{target.describe()} has no spec.storageUri")
            return target.storage_uri
    raise AdapterError(
        f"{path} has no Seldon Model named {manifest.name!r}", hint="check the file and the Model's name"
    )


def _object_name(value: object, key: str) -> ObjectName | None:
    if value is None:
        return None
    data = as_mapping(value, f"modelArtifact.{key}")  # namespace and name are required
    return ObjectName(req_str(data, "namespace"), req_str(data, "name"))


def _server(value: object) -> ServerRef | None:
    base = _object_name(value, "server")
    if base is None:
        return None
    data = as_mapping(value, "modelArtifact.server")
    kind = opt_choice(data, "kind", SERVER_KINDS, "Server")
    return ServerRef(base.namespace, base.name, kind, opt_str(data, "container"))


def _mlflow(value: object) -> MlflowEndpoint | None:
    if value is None:
        return None
    data = as_mapping(value, "modelArtifact.mlflow")  # url is required
    return MlflowEndpoint(
        url=req_str(data, "url"),
        auth=opt_choice(data, "auth", AUTH_MODES, "env"),
        verify_tls=opt_bool(data, "verifyTls", default=True),
        ca_bundle=opt_str(data, "caBundle"),
    )


# --- where the model is, and how much memory it gets ------------------------------------------------------


def model_storage(cluster: Cluster, model: ObjectName) -> tuple[str, str | None]:
    """The Model's spec.storageUri and spec.server. AdapterError when it is missing or has no URI."""
    obj = cluster.get(SELDON_API, "Model", model.name, model.namespace)
    if obj is None:
        raise AdapterError(
            f"Model {model} does not exist", hint="apply the Seldon manifests before checking its artifacts"
        )
    spec = obj.get("spec") or {}
    uri = spec.get("storageUri")
    if not isinstance(uri, str) or not uri:
        raise AdapterError(
            f"Model {model} has no spec.storageUri", hint="set it (drkit's modelUris step can)"
        )
    server = spec.get("server")
    return uri, server if isinstance(server, str) and server else None


def server_memory_limit(cluster: Cluster, server: ServerRef) -> tuple[MemoryLimit | None, str]:
    """The serving container's memory limit, or None and why there is none.

    A Seldon Server's pods come from its StatefulSet (same name); `spec.podSpec` on the Server overrides
    that, so it is looked at first. AdapterError when the named workload does not exist.
    """
    container = server.container
    templates: list[tuple[str, Mapping[str, Any]]] = []
    if server.kind == "Server":
        obj = cluster.get(SELDON_API, "Server", server.name, server.namespace)
        if obj is None:
            raise AdapterError(f"{server} does not exist", hint="apply the Seldon manifests first")
        spec = obj.get("spec") or {}
        container = container or _server_container(spec)
        templates.append((str(server), spec.get("podSpec") or {}))
        sts = cluster.get("apps/v1", "StatefulSet", server.name, server.namespace)
        if sts is not None:
            pod = ((sts.get("spec") or {}).get("template") or {}).get("spec") or {}
            templates.append((f"StatefulSet {server.namespace}/{server.name}", pod))
    else:
        obj = cluster.get("apps/v1", server.kind, server.name, server.namespace)
        if obj is None:
            raise AdapterError(f"{server} does not exist")
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        templates.append((str(server), pod))
    seen: list[str] = []
    for source, pod in templates:
        containers = [c for c in pod.get("containers") or [] if isinstance(c, Mapping)]
        chosen = _pick_container(containers, container, source)
        if chosen is None:
            seen.extend(str(c.get("name")) for c in containers)
            continue
        memory = ((chosen.get("resources") or {}).get("limits") or {}).get("memory")
        name = str(chosen.get("name"))
        if memory is not None:
            return MemoryLimit(str(memory), f"{name}'s", source, container=name), ""
        return None, f"container {name} of {source} has no memory limit"
    wanted = container or "the serving container"
    found = f" (containers: {', '.join(sorted(set(seen)))})" if seen else ""
    return None, f"no {wanted} container found in {server}{found}"


def _server_container(spec: Mapping[str, Any]) -> str:
    config = str(spec.get("serverConfig") or "")
    return "triton" if "triton" in config else DEFAULT_SERVER_CONTAINER


def _pick_container(
    containers: Sequence[Mapping[str, Any]], wanted: str | None, source: str
) -> Mapping[str, Any] | None:
    if wanted is not None:
        return next((c for c in containers if c.get("name") == wanted), None)
    if len(containers) == 1:
        return containers[0]
    if containers:
        names = ", ".join(str(c.get("name")) for c in containers)
        raise AdapterError(
            f"{source} has containers {names}: say which one serves the model",
            hint="set `server.container`",
        )
    return None


# --- the probe --------------------------------------------------------------------------------------------


class ModelArtifactProbe:
    def __init__(self, name: str, settings: ModelArtifactSettings) -> None:
        self.name = name
        self.settings = settings

    def describe(self) -> str:
        return self.settings.describe()

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """The Model and the serving workload, each read by name (MLflow and storage are not the API)."""
        s = self.settings
        rules: list[Access] = []
        if s.model is not None:
            rules.append(on(SELDON_API, "Model", ("get",), s.model.namespace, names=(s.model.name,)))
        if s.server is not None:
            server = s.server
            workloads = (
                [(SELDON_API, "Server"), ("apps/v1", "StatefulSet")] if server.kind == "Server" else []
            )
            for api_version, kind in workloads or [("apps/v1", server.kind)]:
                rules.append(on(api_version, kind, ("get",), server.namespace, names=(server.name,)))
        return StepAccess(tuple(rules))

    def attempt(self, ctx: StepContext) -> StepResult:
        s = self.settings
        details: dict[str, object] = {}
        lookups: list[CheckResult] = []
        uri = s.storage_uri
        server = s.server
        if s.manifest is not None:
            uri = manifest_storage(ctx.base_dir, s.manifest)
            details["manifest"] = str(s.manifest)
        if s.model is not None:
            uri, model_server = model_storage(ctx.cluster(), s.model)
            details["model"] = str(s.model)
            if server is None and s.memory_limit is None and model_server is not None:
                server = ServerRef(s.model.namespace, model_server)  # the Server the Model is scheduled on
        assert uri is not None  # parse_settings: storageUri, model or manifest
        details["storageUri"] = uri
        limit: MemoryLimit | None = None
        if s.memory_limit is not None:
            limit = MemoryLimit(s.memory_limit, "the configured")
        elif server is not None:
            details["server"] = str(server)
            try:
                limit, why = server_memory_limit(ctx.cluster(), server)
            except AdapterError as exc:
                if s.server is not None:
                    raise  # a server the playbook names must exist
                limit, why = None, f"{exc.message} (the Model's spec.server)"
            if limit is None:
                lookups.append(_no_limit(why))
        reserve = s.server_reserve
        if reserve is None:
            reserve = default_server_reserve(server if s.memory_limit is None else None, limit)
        client = self._client(ctx)
        try:
            verdict = _judge(uri, s, limit, server_reserve=reserve, transport=client, base_dir=ctx.base_dir)
        finally:
            if client is not None:
                client.close()
        verdict = replace(verdict, checks=(*lookups, *verdict.checks))
        details.update(
            {
                "format": verdict.detected_format,
                "totalBytes": verdict.total_bytes,
                "memoryLimit": None if limit is None else limit.quantity,
                "serverReserve": reserve,
                "checks": [c.to_json() for c in verdict.checks],
                "errors": [c.message for c in verdict.errors],
                "warnings": [c.message for c in verdict.warnings],
            }
        )
        status = StepStatus.SUCCEEDED if verdict.ok else StepStatus.FAILED
        return StepResult(status, rules.summarize(verdict, uri), details)

    def _client(self, ctx: StepContext) -> MlflowClient | None:
        endpoint = self.settings.mlflow
        if endpoint is None:
            return None
        remaining = ctx.remaining()
        settings = MlflowSettings(
            base_url=endpoint.url,
            auth=endpoint.auth,
            verify_tls=endpoint.verify_tls,
            ca_bundle=None if endpoint.ca_bundle is None else ctx.base_dir / endpoint.ca_bundle,
            timeout=REQUEST_TIMEOUT_SECONDS
            if remaining is None
            else max(0.5, min(REQUEST_TIMEOUT_SECONDS, remaining)),
        )
        return MlflowClient(settings, ctx.runtime.env, ctx.runtime.sleep, ctx.on_retry)


def default_server_reserve(server: ServerRef | None, limit: MemoryLimit | None) -> int:
    """Bytes the serving process takes by itself when the playbook does not say.

    A Seldon Server's mlserver container runs MLServer, whose main process and inference worker take about
    520 MB before any model: that is known. Of a limit written in the playbook, a Deployment's or a Triton
    container's, drkit knows nothing, so it reserves nothing there (set `serverReserve`).
    """
    if (
        server is not None
        and server.kind == "Server"
        and limit is not None
        and limit.container == DEFAULT_SERVER_CONTAINER
    ):
        return rules.parse_quantity(rules.DEFAULT_MLSERVER_RESERVE)
    return 0


def _no_limit(why: str) -> CheckResult:
    return CheckResult("memoryLimit", False, f"{why}: the model's size was not checked", Severity.WARNING)


def _judge(
    uri: str,
    settings: ModelArtifactSettings,
    limit: MemoryLimit | None,
    *,
    server_reserve: int,
    transport: ArtifactTransport | None,
    base_dir: Path,
) -> rules.Verdict:
    tree = open_tree(uri, storage_root=settings.storage_root, base_dir=base_dir, transport=transport)
    listing = [rules.ArtifactFile(e.path, e.size) for e in tree.list()]
    sizes = {f.path: f.size for f in listing}
    contents: dict[str, bytes] = {}
    for path in rules.files_to_read(listing):
        contents[path] = tree.read_small(path, max(sizes[path], 1))
    rule_settings = RuleSettings(
        format=settings.format,
        memory_limit=limit,
        max_size_ratio=settings.max_size_ratio,
        server_reserve=server_reserve,
        signature=settings.signature,
    )
    return rules.evaluate(listing, contents, rule_settings, uri)


def _build_probe(name: str, body: object, playbook: Playbook) -> ModelArtifactProbe:
    return ModelArtifactProbe(name, parse_settings(body))


PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe)
