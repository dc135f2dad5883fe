"""Resolution against a real MLflow 3.17 server holding both layouts and a registered model."""

from __future__ import annotations

import pytest
from mlflow_support import Trained

from drkit.mlflow import (
    ExperimentNotFound,
    MlflowClient,
    MlflowHostRejected,
    MlflowSettings,
    MlmodelMissing,
    NoMatchingModel,
    RunQuery,
    locate,
    parse_registered,
    to_storage_uri,
    verify_mlmodel,
)

pytestmark = pytest.mark.mlflow


def client_for(url: str) -> MlflowClient:
    return MlflowClient(MlflowSettings(url), {}, lambda _: None)


def test_newest_logged_model_wins_and_maps_to_storage_root(mlflow_models: Trained) -> None:
    with client_for(mlflow_models.server.url) as client:
        found = locate(client, RunQuery("financial-mlops", "params.model_variant = 'baseline'"))
        verify_mlmodel(client, found)
    newest = mlflow_models.baseline
    assert found.run_id == newest["run_id"]
    assert found.model_id == newest["model_id"]
    assert found.matched_runs == 2
    assert found.layout == "logged-model"
    assert to_storage_uri(found.artifact_uri, "s3://mlflow-artifacts/") == (
        f"s3://mlflow-artifacts/{newest['experiment_id']}/models/{newest['model_id']}/artifacts"
    )


def test_mlflow2_layout_is_under_the_run(mlflow_models: Trained) -> None:
    with client_for(mlflow_models.server.url) as client:
        found = locate(client, RunQuery("financial-mlops", "params.model_variant = 'enhanced'"))
        verify_mlmodel(client, found)
    enhanced = mlflow_models.enhanced
    assert found.layout == "run-artifacts"
    assert found.model_id is None
    assert found.artifact_uri == enhanced["artifact_uri"]
    assert to_storage_uri(found.artifact_uri, "s3://bucket") == (
        f"s3://bucket/{enhanced['experiment_id']}/{enhanced['run_id']}/artifacts/model"
    )


@pytest.mark.parametrize("reference", ["fin-model@champion", "fin-model/1"])
def test_registered_model_by_alias_and_version(mlflow_models: Trained, reference: str) -> None:
    with client_for(mlflow_models.server.url) as client:
        found = locate(client, parse_registered(reference))
        verify_mlmodel(client, found)
    assert found.registered_version == "1"
    assert found.model_id == mlflow_models.baseline_old["model_id"]
    assert found.artifact_uri == mlflow_models.baseline_old["artifact_uri"]


def test_unknown_alias_and_version_are_no_matching_model(mlflow_models: Trained) -> None:
    with client_for(mlflow_models.server.url) as client:
        for reference in ("fin-model@nope", "fin-model/9", "other/1"):
            with pytest.raises(NoMatchingModel, match=reference.replace("/", ".")):
                locate(client, parse_registered(reference))


def test_unknown_experiment_lists_close_names(mlflow_models: Trained) -> None:
    with client_for(mlflow_models.server.url) as client, pytest.raises(ExperimentNotFound) as caught:
        locate(client, RunQuery("financial-mlop", "params.model_variant = 'baseline'"))
    assert "close names: financial-mlops" in caught.value.message


def test_no_matching_run_and_bad_filter(mlflow_models: Trained) -> None:
    with client_for(mlflow_models.server.url) as client:
        with pytest.raises(NoMatchingModel, match="no finished run"):
            locate(client, RunQuery("financial-mlops", "params.model_variant = 'nothing'"))
        with pytest.raises(NoMatchingModel, match="refused the filter"):
            locate(client, RunQuery("financial-mlops", "params.model_variant = = 'x'"))


def test_missing_mlmodel_names_model_and_path(mlflow_models: Trained) -> None:
    with client_for(mlflow_models.server.url) as client:
        found = locate(client, RunQuery("broken-models", "params.model_variant = 'enhanced'"))
        with pytest.raises(MlmodelMissing) as caught:
            verify_mlmodel(client, found)
    assert mlflow_models.broken["artifact_uri"] in caught.value.message
    assert "no MLmodel file" in caught.value.message


def test_cluster_dns_host_header_is_explained(mlflow_models: Trained) -> None:
    # The server accepts 127.0.0.1 only; sending the in-cluster name is what a playbook run elsewhere does.
    port = mlflow_models.server.url.rsplit(":", 1)[1]
    url = f"http://mlflow.mlflow.svc.cluster.local:{port}"
    settings = MlflowSettings(url)
    with MlflowClient(settings, {}, lambda _: None) as client:
        client._session.mount(url, _ResolveTo(mlflow_models.server.url))
        with pytest.raises(MlflowHostRejected) as caught:
            locate(client, RunQuery("financial-mlops", "params.model_variant = 'baseline'"))
    assert "Invalid Host header" in caught.value.message
    assert "--allowed-hosts" in str(caught.value.hint)


class _ResolveTo:
    """A transport adapter that connects to the test server but keeps the URL's Host header."""

    def __init__(self, target: str) -> None:
        import requests.adapters  # noqa: PLC0415

        self.target = target
        self.inner = requests.adapters.HTTPAdapter()

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        from urllib.parse import urlsplit  # noqa: PLC0415

        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = self.target + request.url[len(f"{parts.scheme}://{parts.netloc}") :]
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()
