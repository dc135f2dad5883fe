"""Where a model really lives: from "the newest run of this experiment matching this filter" (or a registered
model) to the storage URI of the directory that holds its MLmodel file.

Both layouts exist on real servers at once: MLflow 3 logs LoggedModels
(`<root>/<exp>/models/m-<id>/artifacts`, listed on the run as `outputs.model_outputs`), MLflow 2.x clients log
under the run (`<root>/<exp>/<run id>/artifacts/<path>`, recorded in the run tag `mlflow.log-model.history`).
The `m-...` in a path is a model id, not a run id (seed 003 got that wrong).

A proxying server answers `mlflow-artifacts:/...`; nothing in the API says which bucket that is, so the caller
names the storage root (`s3://mlflow-artifacts/`) and `to_storage_uri` maps it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from drkit.mlflow.client import MlflowClient
from drkit.mlflow.errors import (
    ExperimentNotFound,
    MlflowApiError,
    MlflowNotFound,
    MlmodelMissing,
    ModelNotReady,
    NoMatchingModel,
)

PROXY_SCHEME = "mlflow-artifacts:"
PROXY_LIST_ROUTE = "/ajax-api/2.0/mlflow-artifacts/artifacts"
MLMODEL = "MLmodel"
_REGISTERED = re.compile(r"^(?P<name>[^@/]+?)(?:@(?P<alias>[^@/]+)|/(?P<version>\d+))$")

Layout = Literal["logged-model", "run-artifacts", "registered"]


@dataclass(frozen=True)
class RunQuery:
    """The newest finished run of `experiment` matching `filter` (an MLflow search filter)."""

    experiment: str
    filter: str

    def describe(self) -> str:
        return f"experiment {self.experiment!r} where {self.filter}"


@dataclass(frozen=True)
class RegisteredQuery:
    """A registered model version, by alias (`name@alias`) or number (`name/version`)."""

    name: str
    alias: str | None = None
    version: str | None = None

    def describe(self) -> str:
        reference = f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"
        return f"registered model {reference}"


ModelQuery = RunQuery | RegisteredQuery


def parse_registered(text: str) -> RegisteredQuery:
    """`name@alias` or `name/version`; ValueError says what is accepted."""
    match = _REGISTERED.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a registered model reference: write name@alias or name/version")
    return RegisteredQuery(match["name"], alias=match["alias"], version=match["version"])


@dataclass(frozen=True)
class ModelLocation:
    """A model directory as MLflow names it, and how it was found (for the report)."""

    query: ModelQuery
    artifact_uri: str  # as MLflow answers it: mlflow-artifacts:/..., s3://..., or a path
    layout: Layout
    experiment_id: str | None = None
    run_id: str | None = None
    model_id: str | None = None  # m-<32 hex> for MLflow 3 logged models
    run_artifact_path: str | None = None  # 2.x layout: the path under the run's artifacts
    matched_runs: int = 0
    registered_version: str | None = None

    def describe(self) -> str:
        chosen = [
            f"run {self.run_id}" if self.run_id else "",
            f"model {self.model_id}" if self.model_id else "",
        ]
        where = ", ".join(part for part in chosen if part)
        if self.registered_version:
            where = f"version {self.registered_version}" + (f" ({where})" if where else "")
        matched = f"; newest of {self.matched_runs} matching runs" if self.matched_runs > 1 else ""
        return f"{self.query.describe()} -> {where}{matched}"


def to_storage_uri(artifact_uri: str, storage_root: str | None) -> str:
    """Map `mlflow-artifacts:/1/models/m-x/artifacts` onto the storage root the proxy writes to.

    Other URIs (the server writes straight to s3:// or a path) are what the model server should read already.
    """
    if not artifact_uri.startswith(PROXY_SCHEME):
        return artifact_uri.rstrip("/")
    if not storage_root:
        raise NoMatchingModel(
            f"MLflow names the model directory {artifact_uri}, a path behind its artifact proxy",
            hint="say which bucket the proxy writes to: storageRoot (e.g. s3://mlflow-artifacts/)",
        )
    relative = artifact_uri[len(PROXY_SCHEME) :].lstrip("/")
    return f"{storage_root.rstrip('/')}/{relative}".rstrip("/")


def locate(client: MlflowClient, query: ModelQuery) -> ModelLocation:
    if isinstance(query, RegisteredQuery):
        return _locate_registered(client, query)
    return _locate_run_model(client, query)


def verify_mlmodel(client: MlflowClient, location: ModelLocation) -> None:
    """Raise MlmodelMissing unless the model directory holds an MLmodel file (asked through the server)."""
    listing: dict[str, Any]
    if location.model_id:
        listing = client.get_json(f"logged-models/{location.model_id}/artifacts/directories")
        names = _file_names(listing, "")
    elif location.run_id and location.run_artifact_path is not None:
        prefix = location.run_artifact_path.strip("/")
        listing = client.get_json("artifacts/list", {"run_id": location.run_id, "path": prefix})
        names = _file_names(listing, prefix)
    elif location.artifact_uri.startswith(PROXY_SCHEME):
        path = location.artifact_uri[len(PROXY_SCHEME) :].strip("/")
        names = _file_names(client.get_json(PROXY_LIST_ROUTE, {"path": path}), "")
    else:
        raise MlmodelMissing(
            f"cannot check {location.artifact_uri} ({location.query.describe()}): MLflow links it to no run "
            "or logged model, and it is not behind the artifact proxy",
            hint="register the version from a run or logged model, or check the storage by hand",
        )
    if MLMODEL not in names:
        found = ", ".join(sorted(names)[:8]) or "nothing"
        raise MlmodelMissing(
            f"{location.query.describe()}: the model directory {location.artifact_uri} holds no "
            f"{MLMODEL} file (found: {found})",
            hint="the model was not logged completely (or was deleted); retrain it or pick another run",
        )


def _file_names(listing: dict[str, Any], prefix: str) -> set[str]:
    """Names of the files directly in the listed directory (paths may come back prefixed with it)."""
    names = set()
    for entry in listing.get("files") or []:
        path = str(entry.get("path", ""))
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) + 1 :]
        if not entry.get("is_dir"):
            names.add(path)
    return names


# -- runs and logged models --------------------------------------------------------------------------


def experiment_id(client: MlflowClient, name: str) -> str:
    try:
        answer = client.get_json("experiments/get-by-name", {"experiment_name": name})
    except MlflowNotFound:
        known = [str(e.get("name")) for e in client.search("experiments/search", {}, "experiments")]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        raise ExperimentNotFound(
            f"MLflow at {client.display_url} has no experiment named {name!r}"
            + (f"; close names: {', '.join(close)}" if close else ""),
            hint=f"known experiments: {', '.join(sorted(known)[:10]) or 'none'}; "
            "fix the drkit.io/mlflow-experiment annotation or the playbook's mapping",
        ) from None
    return str(answer["experiment"]["experiment_id"])


def _locate_run_model(client: MlflowClient, query: RunQuery) -> ModelLocation:
    exp_id = experiment_id(client, query.experiment)
    body = {
        "experiment_ids": [exp_id],
        "filter": query.filter,
        "order_by": ["attributes.start_time DESC"],
        "run_view_type": "ACTIVE_ONLY",
    }
    try:
        runs = list(client.search("runs/search", body, "runs"))
    except MlflowApiError as exc:
        if exc.error_code != "INVALID_PARAMETER_VALUE":
            raise
        raise NoMatchingModel(
            f"MLflow refused the filter {query.filter!r}: {exc.message.split(': ', 2)[-1]}",
            hint="write an MLflow search filter such as params.model_variant = 'enhanced' (quote the value)",
        ) from None
    finished = [run for run in runs if run.get("info", {}).get("status") == "FINISHED"]
    if not finished:
        states = ", ".join(sorted({str(r.get("info", {}).get("status")) for r in runs}))
        raise NoMatchingModel(
            f"no finished run in {query.describe()}"
            + (f" ({len(runs)} matching runs are {states})" if runs else ""),
            hint="train the model first (the pipeline step), or fix the filter "
            "(e.g. params.model_variant = 'enhanced')",
        )
    newest = finished[0]
    run_id = str(newest["info"]["run_id"])
    model_ids = [str(o["model_id"]) for o in (newest.get("outputs") or {}).get("model_outputs") or []]
    if not model_ids:
        model_ids = _models_of_run(client, exp_id, run_id)
    if model_ids:
        return _logged_model_location(client, query, model_ids, run_id, len(finished))
    artifact_path = _history_artifact_path(newest)
    if artifact_path is None:
        raise NoMatchingModel(
            f"{query.describe()}: the newest run {run_id} logged no model (no logged model, "
            "no mlflow.log-model.history tag)",
            hint="the training run must call mlflow.<flavor>.log_model",
        )
    run_uri = str(newest["info"]["artifact_uri"]).rstrip("/")
    return ModelLocation(
        query=query,
        artifact_uri=f"{run_uri}/{artifact_path}",
        layout="run-artifacts",
        experiment_id=exp_id,
        run_id=run_id,
        run_artifact_path=artifact_path,
        matched_runs=len(finished),
    )


def _models_of_run(client: MlflowClient, exp_id: str, run_id: str) -> list[str]:
    """Logged models whose source is this run (servers that do not list them as run outputs)."""
    found = client.search(
        "logged-models/search",
        {"experiment_ids": [exp_id], "filter": f"source_run_id = '{run_id}'"},
        "models",
    )
    return [str(m["info"]["model_id"]) for m in found]


def _logged_model_location(
    client: MlflowClient, query: RunQuery, model_ids: list[str], run_id: str, matched: int
) -> ModelLocation:
    models = [client.get_json(f"logged-models/{model_id}")["model"]["info"] for model_id in model_ids]
    ready = [m for m in models if m.get("status") == "LOGGED_MODEL_READY"]
    if not ready:
        states = ", ".join(f"{m['model_id']} is {m.get('status')}" for m in models)
        raise ModelNotReady(
            f"{query.describe()}: the newest run {run_id} has no READY logged model ({states})",
            hint="wait for the training run to finish uploading its model, or retrain it",
        )
    # One run may log several models; the latest READY one is the one its pipeline finished with.
    chosen = max(ready, key=lambda m: int(m.get("creation_timestamp_ms") or 0))
    return ModelLocation(
        query=query,
        artifact_uri=str(chosen["artifact_uri"]),
        layout="logged-model",
        experiment_id=str(chosen.get("experiment_id")),
        run_id=run_id,
        model_id=str(chosen["model_id"]),
        matched_runs=matched,
    )


def _history_artifact_path(run: dict[str, Any]) -> str | None:
    tags = {t.get("key"): t.get("value") for t in (run.get("data") or {}).get("tags") or []}
    try:
        history = json.loads(tags.get("mlflow.log-model.history") or "[]")
    except ValueError:
        return None
    paths = [
        str(entry["artifact_path"])
        for entry in history
        if isinstance(entry, dict) and "artifact_path" in entry
    ]
    return paths[-1] if paths else None


# -- registered models --------------------------------------------------------------------------------


def _locate_registered(client: MlflowClient, query: RegisteredQuery) -> ModelLocation:
    try:
        if query.alias:
            version = client.get_json("registered-models/alias", {"name": query.name, "alias": query.alias})
        else:
            version = client.get_json(
                "model-versions/get", {"name": query.name, "version": str(query.version)}
            )
    except MlflowNotFound:
        raise NoMatchingModel(
            f"MLflow at {client.display_url} has no {query.describe()}",
            hint="check the drkit.io/mlflow-model annotation (name@alias or name/version) against the "
            "registry",
        ) from None
    except MlflowApiError as exc:
        # An unknown alias is INVALID_PARAMETER_VALUE, not a 404.
        if exc.error_code == "INVALID_PARAMETER_VALUE" and query.alias:
            raise NoMatchingModel(
                f"MLflow at {client.display_url} has no {query.describe()} (no such alias)",
                hint="set the alias on a version (set_registered_model_alias) or fix the annotation",
            ) from None
        raise
    info = version["model_version"]
    number = str(info["version"])
    if info.get("status") != "READY":
        raise ModelNotReady(
            f"{query.describe()}: version {number} is {info.get('status')}",
            hint="wait until the registry finishes creating the version, or use a READY version",
        )
    uri = client.get_json("model-versions/get-download-uri", {"name": query.name, "version": number})
    artifact_uri = str(uri["artifact_uri"])
    source = str(info.get("source") or "")
    model_id = source[len("models:/") :] if source.startswith("models:/m-") else None
    run_id = str(info.get("run_id") or "") or None
    run_path = None
    runs_source = re.match(r"^runs:/(?P<run>[^/]+)/(?P<path>.+)$", source)
    if model_id is None and runs_source:  # a version registered from a 2.x run artifact
        run_id, run_path = runs_source["run"], runs_source["path"].strip("/")
    return ModelLocation(
        query=query,
        artifact_uri=artifact_uri,
        layout="registered",
        run_id=run_id,
        model_id=model_id,
        run_artifact_path=run_path,
        registered_version=number,
    )
