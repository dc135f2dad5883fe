"""`drkit finalizers list|clear` against a lab whose Seldon scheduler is down, through the real CLI boundary.

The dry run and every refusal are proven by the lab's request log: no PATCH, PUT, POST or DELETE, and a
refusal on the context not one request of any kind. The context and API server the tests expect are read
from the kubeconfig, as any client reads them, so the tests hold on either control plane.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from finalizers_support import (
    cluster_of,
    create_namespace_with_models,
    delete_namespace_until_stuck,
    install_crds,
    log_size,
    requests_since,
    stop_controller,
    writes_since,
)
from helpers import run_drkit
from lab_helpers import LabHandle
from ruamel.yaml import YAML

from drkit.cli import run
from drkit.context import Runtime

pytestmark = pytest.mark.real_plane

NAMESPACE = "financial-inference"
MODELS = ["baseline-predictor", "enhanced-predictor"]
NOTHING_HERE = (
    "oncall-nothing-here"  # a namespace no test creates: clearing it reads, finds nothing, writes nothing
)


@pytest.fixture
def stuck_lab(lab_factory: Callable[..., LabHandle], tmp_path: Path) -> LabHandle:
    handle = lab_factory()
    with cluster_of(handle, tmp_path) as cluster:
        install_crds(cluster)
        models = create_namespace_with_models(cluster, NAMESPACE, MODELS)
        stop_controller(handle, "seldon-scheduler")
        delete_namespace_until_stuck(cluster, NAMESPACE, models)
    return handle


def _env(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str | None]:
    # No developer's own ~/.config/drkit/config.yaml: the allow-list is what each test writes.
    return {"DRKIT_CONFIG": str(tmp_path / "no-config.yaml"), **(extra or {})}


def _drkit(
    handle: LabHandle, tmp_path: Path, *args: str, env: Mapping[str, str] | None = None
) -> tuple[int, str, str, object]:
    result = run_drkit(*args, "--kubeconfig", str(handle.kubeconfig), cwd=tmp_path, env=_env(tmp_path, env))
    payload = result.json if "-o" in args and result.stdout.strip() else None
    return result.exit_code, result.stdout, result.stderr, payload


def _context_and_server(kubeconfig: Path) -> tuple[str, str]:
    """The current context and its API server, read from the kubeconfig."""
    doc = YAML(typ="safe", pure=True).load(kubeconfig.read_text(encoding="utf-8"))
    context = doc["current-context"]
    entry = next(c["context"] for c in doc["contexts"] if c["name"] == context)
    server = next(c["cluster"]["server"] for c in doc["clusters"] if c["name"] == entry["cluster"])
    return str(context), str(server)


def _at_a_terminal(handle: LabHandle, tmp_path: Path, answer: str, *args: str) -> tuple[int, str, str]:
    """drkit as run by a person at a terminal (prompts allowed), answering `answer` to its question."""
    env = {
        "KUBECONFIG": str(handle.kubeconfig),
        "DRKIT_CONFIG": str(tmp_path / "no-config.yaml"),
        "PATH": os.environ.get("PATH", ""),
    }
    with CliRunner().isolation(input=answer, env=env) as (out, err, _):
        runtime = Runtime(
            stdout=sys.stdout, stderr=sys.stderr, stdin=sys.stdin, env=env, cwd=tmp_path, interactive=True
        )
        code = run(list(args), runtime)
    return code, out.getvalue().decode(), err.getvalue().decode()


def _run_dirs(tmp_path: Path) -> list[str]:
    runs = tmp_path / ".drkit" / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


def test_list_shows_the_stuck_models_their_owner_and_the_namespace_conditions(
    stuck_lab: LabHandle, tmp_path: Path
) -> None:
    before = log_size(stuck_lab)
    code, out, err, _ = _drkit(stuck_lab, tmp_path, "finalizers", "list", "-n", NAMESPACE, "--after", "0s")

    assert code == 0, err
    assert f"namespace {NAMESPACE}: Terminating" in out
    assert "NamespaceFinalizersRemaining" in out
    for name in MODELS:
        assert f"Model {NAMESPACE}/{name}" in out
    assert "seldon.model.finalizer" in out
    assert "Seldon Core v2 scheduler" in out
    assert writes_since(stuck_lab, before) == []


def test_list_across_all_namespaces_finds_the_stuck_models_with_one_list_per_kind(
    stuck_lab: LabHandle, tmp_path: Path
) -> None:
    before = log_size(stuck_lab)
    code, _, err, payload = _drkit(
        stuck_lab, tmp_path, "finalizers", "list", "-A", "--after", "0s", "-o", "json"
    )

    assert code == 0, err
    assert isinstance(payload, dict)
    assert NAMESPACE in [ns["name"] for ns in payload["namespaces"]]
    stuck = {(o["namespace"], o["name"]) for o in payload["objects"]}
    assert {(NAMESPACE, name) for name in MODELS} <= stuck
    requests = requests_since(stuck_lab, before)
    assert [r for r in requests if r["method"] != "GET"] == []
    # across the cluster, not namespace by namespace: no list names a namespace
    assert not [r["path"] for r in requests if "/namespaces/" in str(r["path"])]


def test_list_as_json(stuck_lab: LabHandle, tmp_path: Path) -> None:
    code, _, err, payload = _drkit(stuck_lab, tmp_path, "finalizers", "list", "-n", NAMESPACE, "-o", "json")

    assert code == 0, err
    assert isinstance(payload, dict)
    [ns] = payload["namespaces"]
    assert ns["name"] == NAMESPACE
    assert ns["deletionTimestamp"]
    objects = {o["name"]: o for o in payload["objects"]}
    assert set(objects) == set(MODELS)
    assert all(o["finalizers"] == ["seldon.model.finalizer"] for o in objects.values())


def test_clear_dry_run_writes_nothing_and_says_what_it_would_remove(
    stuck_lab: LabHandle, tmp_path: Path
) -> None:
    before = log_size(stuck_lab)
    code, out, err, _ = _drkit(
        stuck_lab, tmp_path, "finalizers", "clear", "-n", NAMESPACE, "--after", "0s", "--dry-run"
    )

    assert code == 0, err
    for name in MODELS:
        assert f"would remove seldon.model.finalizer from Model {NAMESPACE}/{name}" in out
    assert f"namespace {NAMESPACE}: would wait for it to finish terminating" in out
    assert "still there" not in out  # it changed nothing: nothing is "still" anything
    assert "nothing was changed" in out
    assert writes_since(stuck_lab, before) == []
    assert _run_dirs(tmp_path) == []  # a dry run records no run
    with cluster_of(stuck_lab, tmp_path) as cluster:
        assert cluster.get("v1", "Namespace", NAMESPACE) is not None


def test_clear_without_yes_and_without_a_terminal_is_refused(stuck_lab: LabHandle, tmp_path: Path) -> None:
    before = log_size(stuck_lab)
    code, _, err, _ = _drkit(stuck_lab, tmp_path, "finalizers", "clear", "-n", NAMESPACE, "--after", "0s")

    assert code == 3
    assert "needs confirmation" in err
    assert writes_since(stuck_lab, before) == []


def test_clear_with_yes_on_a_named_context_unsticks_the_namespace_and_records_the_run(
    stuck_lab: LabHandle, tmp_path: Path
) -> None:
    context, server = _context_and_server(stuck_lab.kubeconfig)
    with cluster_of(stuck_lab, tmp_path) as cluster:
        versions = {
            f"Model {NAMESPACE}/{n}": cluster.get("mlops.seldon.io/v1alpha1", "Model", n, NAMESPACE)
            for n in MODELS
        }
    read = {name: obj["metadata"]["resourceVersion"] for name, obj in versions.items() if obj is not None}

    code, _, err, payload = _drkit(
        stuck_lab,
        tmp_path,
        *(
            "finalizers",
            "clear",
            "-n",
            NAMESPACE,
            "--after",
            "0s",
            "--context",
            context,
            "--yes",
            "-o",
            "json",
        ),
        env={"USER": "sre-on-call"},
    )

    assert code == 0, err
    assert isinstance(payload, dict)
    assert payload["complete"] is True
    assert sorted(r["object"] for r in payload["removed"]) == [f"Model {NAMESPACE}/{n}" for n in MODELS]
    with cluster_of(stuck_lab, tmp_path) as cluster:
        assert cluster.get("v1", "Namespace", NAMESPACE) is None

    run_id = payload["runId"]
    assert _run_dirs(tmp_path) == [run_id]
    listed = run_drkit("runs", "list", cwd=tmp_path)
    [line] = [ln for ln in listed.stdout.splitlines() if run_id in ln]
    assert "finalizers-clear" in line
    assert "succeeded" in line
    shown = run_drkit("runs", "show", run_id, "-o", "json", cwd=tmp_path)
    assert shown.exit_code == 0, shown.stderr
    [step] = shown.json["phases"][0]["steps"]
    records = {r["object"]: r for r in step["details"]["removed"]}
    assert {name: r["resourceVersionBefore"] for name, r in records.items()} == read
    assert all(r["resourceVersionAfter"] and r["at"] for r in records.values())
    assert step["details"]["cluster"] == {"context": context, "server": server}
    assert step["details"]["actor"]["localUser"] == "sre-on-call"
    assert stuck_lab.token not in shown.stdout
    text = run_drkit("runs", "show", run_id, cwd=tmp_path)
    assert "finalizers removed" in text.stdout
    assert f"on context {context} ({server})" in text.stdout
    resumed = run_drkit("resume", run_id, cwd=tmp_path)
    assert resumed.exit_code == 2
    assert "cannot be resumed" in resumed.stderr


def test_yes_on_the_implicit_current_context_without_a_terminal_is_refused_before_any_request(
    lab_without_mlflow: LabHandle, tmp_path: Path
) -> None:
    context, server = _context_and_server(lab_without_mlflow.kubeconfig)
    before = log_size(lab_without_mlflow)

    code, _, err, _ = _drkit(lab_without_mlflow, tmp_path, "finalizers", "clear", "-n", NOTHING_HERE, "--yes")

    assert code == 3, err
    assert f"on context '{context}' (API server {server}) needs confirmation" in err
    assert f"--context {context} --yes" in err
    assert log_size(lab_without_mlflow) == before  # not even a GET
    assert _run_dirs(tmp_path) == []


@pytest.mark.parametrize("where", ["flag", "config"])
def test_a_context_outside_the_allow_list_is_refused_before_any_request_even_when_named(
    lab_without_mlflow: LabHandle, tmp_path: Path, where: str
) -> None:
    context, server = _context_and_server(lab_without_mlflow.kubeconfig)
    config = tmp_path / "config.yaml"
    config.write_text("contexts: [prod-elsewhere]\n", encoding="utf-8")
    allow = ("--allow-context", "prod-elsewhere") if where == "flag" else ()
    env = {"DRKIT_CONFIG": str(config)} if where == "config" else None
    before = log_size(lab_without_mlflow)

    code, _, err, _ = _drkit(
        lab_without_mlflow,
        tmp_path,
        *("finalizers", "clear", "-n", NOTHING_HERE, "--context", context, "--yes", *allow),
        env=env,
    )

    assert code == 3, err
    assert f"may not change context '{context}' (API server {server})" in err
    assert "prod-elsewhere" in err
    assert log_size(lab_without_mlflow) == before
    assert _run_dirs(tmp_path) == []


@pytest.mark.parametrize("where", ["flag", "config"])
def test_yes_acts_on_an_allowed_current_context_and_records_it(
    lab_without_mlflow: LabHandle, tmp_path: Path, where: str
) -> None:
    context, _ = _context_and_server(lab_without_mlflow.kubeconfig)
    config = tmp_path / "config.yaml"
    config.write_text(f"contexts: [prod-elsewhere, {context}]\n", encoding="utf-8")
    allow = ("--allow-context", context) if where == "flag" else ()
    env = {"DRKIT_CONFIG": str(config)} if where == "config" else None

    code, out, err, _ = _drkit(
        lab_without_mlflow, tmp_path, "finalizers", "clear", "-n", NOTHING_HERE, "--yes", *allow, env=env
    )

    assert code == 0, err
    assert f"namespace {NOTHING_HERE}: not found" in out
    [run_id] = _run_dirs(tmp_path)
    assert f"recorded as run {run_id}" in out


def test_the_question_at_a_terminal_names_the_context_and_api_server(
    lab_without_mlflow: LabHandle, tmp_path: Path
) -> None:
    context, server = _context_and_server(lab_without_mlflow.kubeconfig)
    before = log_size(lab_without_mlflow)

    code, _, err = _at_a_terminal(
        lab_without_mlflow, tmp_path, "n\n", "finalizers", "clear", "-n", NOTHING_HERE
    )

    assert code == 3, err
    assert f"Remove these finalizers in {NOTHING_HERE} on context '{context}' (API server {server})?" in err
    assert f"nothing is stuck in {NOTHING_HERE} right now" in err
    assert "not confirmed; nothing was written" in err
    assert writes_since(lab_without_mlflow, before) == []
    assert _run_dirs(tmp_path) == []


@pytest.mark.parametrize("extra", [(), ("--dry-run",)])
def test_clearing_in_a_protected_namespace_is_refused_before_any_request(
    lab_without_mlflow: LabHandle, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    context, _ = _context_and_server(lab_without_mlflow.kubeconfig)
    before = log_size(lab_without_mlflow)
    code, _, err, _ = _drkit(
        lab_without_mlflow,
        tmp_path,
        "finalizers",
        "clear",
        "-n",
        "kube-system",
        "--context",
        context,
        "--yes",
        *extra,
    )

    assert code == 3
    assert "kube-system is protected" in err
    assert log_size(lab_without_mlflow) == before


def test_listing_a_protected_namespace_is_allowed_it_writes_nothing(
    lab_without_mlflow: LabHandle, tmp_path: Path
) -> None:
    before = log_size(lab_without_mlflow)
    code, out, err, _ = _drkit(lab_without_mlflow, tmp_path, "finalizers", "list", "-n", "kube-system")

    assert code == 0, err
    assert "namespace kube-system: Active" in out
    assert writes_since(lab_without_mlflow, before) == []


@pytest.mark.parametrize("args", [("-n", NAMESPACE, "-A"), ()])
def test_list_takes_namespaces_or_all_of_them(
    lab_without_mlflow: LabHandle, tmp_path: Path, args: tuple[str, ...]
) -> None:
    before = log_size(lab_without_mlflow)
    code, _, err, _ = _drkit(lab_without_mlflow, tmp_path, "finalizers", "list", *args)

    assert code == 2
    assert "-n NS, or look at all of them with -A" in err
    assert log_size(lab_without_mlflow) == before
