"""Custom resources: structural schemas enforced, unknown fields pruned, the status subresource."""

from __future__ import annotations

import copy
from collections.abc import Callable

from fidelity_compare import Scenario
from fidelity_kinds import STRATEGIC, TABLE, widgets
from fidelity_planes import Client
from fidelity_widgets import WIDGET_CRD, widget

Fidelity = Callable[[Scenario], None]
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def test_a_valid_widget_is_stored_as_sent(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(widgets(c), widget("ok", size=3, color="red", tags=["x"], parts=[{"name": "a", "count": 1}]))
        c.get(widgets(c, "ok"))

    fidelity(scenario)


def test_wrong_type_is_refused(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(widgets(c), widget("typed", size="big"))  # type: ignore[arg-type]
        c.post(widgets(c), widget("typed", size=1, tags="x"))

    fidelity(scenario)


def test_enum_violation_is_refused(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(widgets(c), widget("hue", color="purple"))

    fidelity(scenario)


def test_required_field_and_minimum(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(
            widgets(c),
            {"apiVersion": "fidelity.drkit.io/v1", "kind": "Widget", "metadata": {"name": "r"}, "spec": {}},
        )
        c.post(widgets(c), widget("neg", size=-1))

    fidelity(scenario)


def test_unknown_fields_are_pruned(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        body = widget("pruned", size=1, bogus=True)
        body["topLevel"] = "dropped"
        c.post(widgets(c), body, headers=("Warning",))

    fidelity(scenario)


def test_preserve_unknown_fields_keeps_the_subtree(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(widgets(c), widget("free", size=1, extra={"anything": {"nested": [1, "two"]}}))

    fidelity(scenario)


def test_a_non_structural_crd_is_refused(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        crd = copy.deepcopy(WIDGET_CRD)
        crd["metadata"]["name"] = "gadgets.nonstructural.drkit.io"
        crd["spec"]["group"] = "nonstructural.drkit.io"
        crd["spec"]["names"] = {
            "plural": "gadgets",
            "singular": "gadget",
            "kind": "Gadget",
            "listKind": "GadgetList",
        }
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        schema["properties"]["spec"] = {
            "properties": {"size": {"type": "integer"}}
        }  # no type: not structural
        c.post(CRDS, crd)

    fidelity(scenario)


def test_status_subresource_ignores_spec_changes(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        created = c.post(widgets(c), widget("st", size=1)).json()
        changed = dict(created, spec={"size": 9}, status={"phase": "Ready", "observed": 1})
        c.put(widgets(c, "st") + "/status", changed)
        again = c.get(widgets(c, "st")).json()
        c.put(widgets(c, "st"), dict(again, spec={"size": 2}, status={"phase": "Broken"}))

    fidelity(scenario)


def test_strategic_merge_patch_on_a_custom_resource_is_415(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(widgets(c), widget("smp", size=1), record=False)
        c.patch(widgets(c, "smp"), {"spec": {"size": 2}}, STRATEGIC)

    fidelity(scenario)


def test_widget_table_has_printer_columns(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        c.post(widgets(c), widget("tab", size=4, color="blue"), record=False)
        c.get(widgets(c), accept=TABLE)
        c.kubectl("get", "widgets", "-n", c.ns)
        c.kubectl("get", "wd", "-n", c.ns, "-o", "name")

    fidelity(scenario)


def test_the_suite_crd_status(fidelity: Fidelity) -> None:
    def scenario(c: Client) -> None:
        crd = c.get(f"{CRDS}/widgets.fidelity.drkit.io", record=False).json()
        c.note("status", crd["status"])

    fidelity(scenario)
