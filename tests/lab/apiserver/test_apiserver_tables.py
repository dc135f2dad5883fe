"""Server-side printing: ages, printer-column JSONPath, the Tables kubectl receives for namespaces and CRs."""

from __future__ import annotations

from datetime import UTC, datetime

from apiserver_harness import Lab

from drkit_lab.apiserver.tables import age, json_path


def test_age_reads_like_kubectl() -> None:
    now = datetime(2026, 1, 2, 0, 0, 0, tzinfo=UTC)

    def at(stamp: str) -> str:
        return age({"metadata": {"creationTimestamp": stamp}}, now)

    assert at("2026-01-01T23:59:15Z") == "45s"
    assert at("2026-01-01T23:56:48Z") == "3m12s"
    assert at("2026-01-01T23:00:00Z") == "60m"
    assert at("2026-01-01T19:00:00Z") == "5h"
    assert at("2025-12-30T00:00:00Z") == "3d"


def test_json_path_subset_for_printer_columns() -> None:
    obj = {"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}}
    assert json_path(obj, '.status.conditions[?(@.type=="Ready")].status') == "True"
    assert json_path(obj, ".status.conditions[0].type") == "A"
    assert json_path(obj, ".spec.missing") is None


def test_table_for_terminating_namespace_and_custom_columns(lab: Lab) -> None:
    lab.manager.set_down("namespaces", True)  # keep the namespace Terminating for the assertion
    lab.raw("POST", "/api/v1/namespaces", {"metadata": {"name": "going"}})
    lab.raw("DELETE", "/api/v1/namespaces/going")
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    response = lab.raw("GET", "/api/v1/namespaces/going", accept=accept).json()
    assert response["kind"] == "Table"
    assert [c["name"] for c in response["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert response["rows"][0]["cells"][:2] == ["going", "Terminating"]
    assert response["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_table_for_custom_resources_uses_printer_columns(lab: Lab) -> None:
    crd = {
        "metadata": {"name": "models.mlops.seldon.io"},
        "spec": {
            "group": "mlops.seldon.io",
            "scope": "Namespaced",
            "names": {"plural": "models", "kind": "Model"},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "additionalPrinterColumns": [
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                        },
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                    ],
                }
            ],
        },
    }
    assert lab.raw("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status_code == 201
    model = {
        "metadata": {"name": "m"},
        "spec": {"replicas": 2},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    assert (
        lab.raw("POST", "/apis/mlops.seldon.io/v1alpha1/namespaces/default/models", model).status_code == 201
    )
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = lab.raw("GET", "/apis/mlops.seldon.io/v1alpha1/namespaces/default/models", accept=accept).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Ready", "Replicas", "Age"]
    assert table["rows"][0]["cells"][:3] == ["m", "True", 2]  # no status subresource: status kept on create
