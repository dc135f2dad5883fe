"""The differences between the emulator and the real control plane that are known and documented.

Scenario name -> why it differs. The conftest turns each into a strict xfail, so a fix in the emulator flips
the scenario to XPASS (a failure) until its row here and in docs/lab.md is removed.
"""

from __future__ import annotations

DEFAULTS = "no defaulting or status for built-in kinds (Pod phase, qosClass; Service type, clusterIP, status)"
AGGREGATED = "no aggregated discovery (apidiscovery.k8s.io/v2): kubectl falls back to the legacy documents"
TABLE_DOCS = "Table column definitions carry no descriptions (the real ones are the OpenAPI field docs)"
SUBSET = (
    "the emulator serves a subset of the API (no policy, networking, storage, ...), "
    "no ReplicationControllers and no APIServices"
)
MESSAGES = "label selector parse errors are not worded as the real parser words them"
AUTHZ = "no authorization APIs (SelfSubjectAccessReview, SelfSubjectReview): one token is the cluster admin"
PROTOBUF = "the emulator decodes protobuf bodies of a few kinds only, not apps/v1 Deployments"
OPENAPI = "no OpenAPI schemas for built-in kinds and permissive ones for custom kinds (kubectl explain)"
FIELD_SELECTORS = (
    "field selectors accept any path; the real server allows a few fields per kind and says which"
)
WATCH_CACHE = (
    "no watch cache: a compacted resourceVersion gets 410 at once, the real server replays from its cache"
)
WATCH_RV = (
    "a watch with a malformed resourceVersion streams an ERROR event (the real server answers HTTP 500)"
)

KNOWN: dict[str, str] = {
    "test_kubectl_get_pods_and_services": DEFAULTS,
    "test_aggregated_discovery": AGGREGATED,
    "test_configmap_table": TABLE_DOCS,
    "test_namespace_table": TABLE_DOCS,
    "test_widget_table_has_printer_columns": TABLE_DOCS,
    "test_group_list_names": SUBSET,
    "test_replication_controllers_and_api_services_are_served": SUBSET,
    "test_invalid_label_selector": MESSAGES,
    "test_kubectl_auth_can_i": AUTHZ,
    "test_kubectl_auth_whoami": AUTHZ,
    "test_kubectl_create_deployment": PROTOBUF,
    "test_kubectl_explain_a_core_kind": OPENAPI,
    "test_kubectl_explain_a_custom_resource": OPENAPI,
    "test_unsupported_field_selector": FIELD_SELECTORS,
    "test_watch_from_a_compacted_resource_version": WATCH_CACHE,
    "test_watch_with_an_invalid_resource_version": WATCH_RV,
}
