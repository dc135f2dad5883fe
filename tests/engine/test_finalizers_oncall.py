"""The on-call `drkit finalizers clear` use case against the lab's API server in-process: the context gate,
the question naming the cluster, and the run record a clearing leaves (journal, report, `runs list|show`).

The API server has no controllers here, so a ConfigMap deleted with a finalizer stays stuck on it: the
clearing's subject. Writes are counted with the store's resourceVersion."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_lab import Lab

from drkit.context import Runtime
from drkit.engine import RunInterrupted, resume, show_run
from drkit.engine.finalizers import ClearRequest, ClusterChoice, clear_finalizers, consent_for
from drkit.engine.journal import read_journal
from drkit.engine.oncall_config import OncallConfig
from drkit.engine.runs import list_run_ids, run_dir
from drkit.engine.usecases import list_runs
from drkit.errors import DrkitError, ExitCode, RefusedError, UsageError
from drkit.kube import Cluster, ClusterConfig, ObjectRef
from drkit.kube.identity import ContextIdentity
from drkit.report.highlights import audit_rows
from drkit.report.model import ClusterRef, Outcome

NAMESPACE = "oncall"
HELD = ObjectRef("v1", "ConfigMap", NAMESPACE, "held")
FINALIZER = "example.com/hold"
CONTEXT = "drkit-lab"  # what kube_lab's kubeconfig names


@pytest.fixture
def cluster(lab: Lab, tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})) as c:
        yield c


@pytest.fixture
def stuck(cluster: Cluster) -> ObjectRef:
    """A ConfigMap deleted while its finalizer holds it (no controller will ever remove it)."""
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": HELD.name, "namespace": NAMESPACE, "finalizers": [FINALIZER]},
        }
    )
    cluster.delete(HELD)
    held = cluster.get("v1", "ConfigMap", HELD.name, NAMESPACE)
    assert held is not None
    assert held["metadata"].get("deletionTimestamp")
    return HELD


@pytest.fixture
def oncall_runtime(lab: Lab, runtime: Runtime, tmp_path: Path) -> Runtime:
    env = {
        **runtime.env,
        "KUBECONFIG": str(lab.kubeconfig),
        "USER": "sre-on-call",
        "DRKIT_CONFIG": str(tmp_path / "no-config.yaml"),
    }
    return dataclasses.replace(runtime, env=env)


class RecordingConfirm:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[str, list[str]]] = []

    def __call__(self, question: str, actions: list[str]) -> bool:
        self.asked.append((question, actions))
        return self.answer


def _request(**changes: object) -> ClearRequest:
    return dataclasses.replace(ClearRequest(namespaces=(NAMESPACE,), after=0.0, timeout=20.0), **changes)


def _finalizers(cluster: Cluster) -> list[str] | None:
    held = cluster.get("v1", "ConfigMap", HELD.name, NAMESPACE)
    return None if held is None else list(held["metadata"].get("finalizers") or [])


def test_the_question_names_the_context_and_api_server_and_declining_writes_nothing(
    lab: Lab, cluster: Cluster, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    confirm = RecordingConfirm(answer=False)
    before = lab.store.resource_version()

    with pytest.raises(RefusedError) as refused:
        clear_finalizers(_request(), oncall_runtime, confirm)

    [(question, actions)] = confirm.asked
    assert f"on context '{CONTEXT}' (API server {lab.server.url})" in question
    assert any(line.startswith(f"remove {FINALIZER} from ConfigMap {NAMESPACE}/held") for line in actions)
    assert refused.value.exit_code is ExitCode.REFUSED
    assert lab.store.resource_version() == before
    assert _finalizers(cluster) == [FINALIZER]
    assert list_run_ids(oncall_runtime.state_dir) == []  # declined: no run record


def test_yes_on_the_implicit_current_context_still_asks_saying_why(
    cluster: Cluster, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    confirm = RecordingConfirm(answer=False)

    with pytest.raises(RefusedError):
        clear_finalizers(_request(assume_yes=True), oncall_runtime, confirm)

    [(question, _)] = confirm.asked
    assert "--yes covers only a context named with --context" in question
    assert f"'{CONTEXT}' is only the kubeconfig's current context" in question
    assert _finalizers(cluster) == [FINALIZER]


def test_yes_without_a_terminal_on_the_implicit_context_is_refused_naming_the_cluster(
    lab: Lab, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    before = lab.store.resource_version()

    with pytest.raises(RefusedError) as refused:
        clear_finalizers(_request(assume_yes=True), oncall_runtime, None)

    assert f"context '{CONTEXT}' (API server {lab.server.url})" in refused.value.message
    assert "no terminal to ask" in refused.value.message
    assert f"--context {CONTEXT} --yes" in str(refused.value.hint)
    assert lab.store.resource_version() == before


def test_a_clearing_is_recorded_as_a_run_with_its_audit_cluster_and_actor(
    lab: Lab, cluster: Cluster, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    held = cluster.get("v1", "ConfigMap", HELD.name, NAMESPACE)
    assert held is not None
    version_before = held["metadata"]["resourceVersion"]

    result = clear_finalizers(
        _request(assume_yes=True, cluster=ClusterChoice(context=CONTEXT)), oncall_runtime, None
    )

    assert result.complete, result.message
    assert _finalizers(cluster) is None  # gone once its finalizer was removed
    assert result.run_id is not None
    [summary] = list_runs(oncall_runtime)
    assert (summary.run_id, summary.mode, summary.outcome) == (result.run_id, "finalizers-clear", "succeeded")
    assert NAMESPACE in summary.playbook

    report = show_run(result.run_id, oncall_runtime)
    assert report.outcome is Outcome.SUCCEEDED
    assert f"on context {CONTEXT} ({lab.server.url}), by kubeconfig user drkit-lab-admin" in report.message
    assert report.cluster == ClusterRef(CONTEXT, lab.server.url)  # the drill reports' shape
    assert [a.outcome for a in report.attempts] == [Outcome.SUCCEEDED]
    [step] = report.steps
    assert step.kind == "clearFinalizers"
    [record] = step.details["removed"]  # type: ignore[misc]
    assert record["object"] == f"ConfigMap {NAMESPACE}/held"
    assert record["finalizersRemoved"] == [FINALIZER]
    assert record["resourceVersionBefore"] == version_before
    assert record["resourceVersionAfter"]
    # Read back through the kind's result reader: the audit the reports render.
    assert [(row.object, row.removed) for row in audit_rows(report.steps)] == [
        (f"ConfigMap {NAMESPACE}/held", (FINALIZER,))
    ]
    assert step.details["cluster"] == {"context": CONTEXT, "server": lab.server.url}
    assert step.details["actor"] == {
        "by": "kubeconfig user drkit-lab-admin (local user sre-on-call)",
        "kubeconfigUser": "drkit-lab-admin",
        "localUser": "sre-on-call",
    }

    directory = run_dir(oncall_runtime.state_dir, result.run_id)
    events = read_journal(directory / "journal.jsonl")
    assert [e["event"] for e in events] == [
        "run-started",
        "finalizers-removed",
        "step-finished",
        "run-finished",
    ]
    assert events[0]["cluster"] == {"context": CONTEXT, "server": lab.server.url}
    assert events[1]["record"]["object"] == f"ConfigMap {NAMESPACE}/held"
    assert events[1]["record"]["resourceVersionBefore"] == version_before
    assert events[1]["by"] == "kubeconfig user drkit-lab-admin (local user sre-on-call)"
    for name in ("journal.jsonl", "report.json", "report.md", "report.html", "junit.xml"):
        assert lab.token not in (directory / name).read_text(encoding="utf-8"), name
    assert "No finalizers were removed." not in (directory / "report.md").read_text(encoding="utf-8")


def test_a_clearing_interrupted_after_a_removal_keeps_its_audit(
    cluster: Cluster, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    def ctrl_c(text: str) -> None:  # the first progress line comes right after the patches
        raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as interrupted:
        clear_finalizers(
            _request(assume_yes=True, cluster=ClusterChoice(context=CONTEXT)), oncall_runtime, None, ctrl_c
        )

    assert interrupted.value.exit_code is ExitCode.INTERRUPTED
    [run_id] = list_run_ids(oncall_runtime.state_dir)
    report = show_run(run_id, oncall_runtime)
    assert report.outcome is Outcome.INTERRUPTED
    [step] = report.steps
    [record] = step.details["removed"]  # type: ignore[misc]
    assert record["object"] == f"ConfigMap {NAMESPACE}/held"
    events = read_journal(run_dir(oncall_runtime.state_dir, run_id) / "journal.jsonl")
    assert "finalizers-removed" in [e["event"] for e in events]


def test_losing_the_cluster_after_a_removal_is_a_failed_clearing_not_nothing_changed(
    lab: Lab, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    def cluster_gone(text: str) -> None:  # the first progress line comes right after the patches
        lab.set_faults(drop_rate=1.0)

    with pytest.raises(DrkitError) as failed:
        clear_finalizers(
            _request(assume_yes=True, cluster=ClusterChoice(context=CONTEXT)),
            oncall_runtime,
            None,
            cluster_gone,
        )

    # Exit 5 would say nothing was changed; a finalizer was removed, so this is a failed clearing (1).
    assert failed.value.exit_code is ExitCode.DRILL_FAILED
    [run_id] = list_run_ids(oncall_runtime.state_dir)
    assert "1 finalizer removal had landed" in failed.value.message
    assert run_id in (failed.value.hint or "")
    report = show_run(run_id, oncall_runtime)
    assert report.outcome is Outcome.FAILED


def test_a_recorded_clearing_cannot_be_resumed(
    cluster: Cluster, stuck: ObjectRef, oncall_runtime: Runtime
) -> None:
    result = clear_finalizers(
        _request(assume_yes=True, cluster=ClusterChoice(context=CONTEXT)), oncall_runtime, None
    )
    assert result.run_id is not None

    with pytest.raises(UsageError) as error:
        resume(result.run_id, oncall_runtime, listener=None, confirm=None)  # type: ignore[arg-type]

    assert "finalizers-clear record, not a playbook run" in error.value.message


def test_a_dry_run_records_nothing(lab: Lab, stuck: ObjectRef, oncall_runtime: Runtime) -> None:
    before = lab.store.resource_version()

    result = clear_finalizers(_request(dry_run=True), oncall_runtime, None)

    assert result.run_id is None
    assert [r["object"] for r in result.view["removed"]] == [f"ConfigMap {NAMESPACE}/held"]
    assert lab.store.resource_version() == before
    assert list_run_ids(oncall_runtime.state_dir) == []


# --- the context gate, decided before any request ------------------------------------------------

PROD = ContextIdentity("prod", "https://prod.example:6443", "admin")
NO_CONFIG = OncallConfig(Path("/nowhere/config.yaml"), exists=False)
PROD_ALLOWED = OncallConfig(Path("/etc/drkit/config.yaml"), exists=True, contexts=("prod",))
STAGING_ALLOWED = OncallConfig(Path("/etc/drkit/config.yaml"), exists=True, contexts=("staging",))


@pytest.mark.parametrize(
    ("request_", "config", "ask"),
    [
        (_request(), NO_CONFIG, True),  # no --yes: always ask
        (_request(assume_yes=True), NO_CONFIG, True),  # --yes on the implicit current context: ask
        (_request(assume_yes=True, cluster=ClusterChoice(context="prod")), NO_CONFIG, False),
        (_request(assume_yes=True), PROD_ALLOWED, False),  # the config allows it
        (_request(assume_yes=True, allow_contexts=("prod",)), NO_CONFIG, False),
        (_request(), PROD_ALLOWED, True),  # allowed, but no --yes
    ],
)
def test_yes_skips_the_question_only_for_a_context_named_or_allowed(
    request_: ClearRequest, config: OncallConfig, ask: bool
) -> None:
    assert consent_for(request_, PROD, config).ask is ask


@pytest.mark.parametrize(
    ("request_", "config", "named"),
    [
        (_request(assume_yes=True, cluster=ClusterChoice(context="prod")), STAGING_ALLOWED, "contexts: in"),
        (_request(assume_yes=True, allow_contexts=("staging",)), NO_CONFIG, "--allow-context staging"),
        (_request(allow_contexts=("staging",)), NO_CONFIG, "--allow-context staging"),
    ],
)
def test_a_context_outside_the_allow_list_is_refused_even_when_named(
    request_: ClearRequest, config: OncallConfig, named: str
) -> None:
    with pytest.raises(RefusedError) as refused:
        consent_for(request_, PROD, config)

    assert "may not change context 'prod' (API server https://prod.example:6443)" in refused.value.message
    assert "holds staging" in refused.value.message
    assert named in refused.value.message


def test_the_flag_and_the_config_file_add_up() -> None:
    request_ = _request(assume_yes=True, allow_contexts=("staging",))

    assert consent_for(request_, PROD, PROD_ALLOWED).ask is False
    with pytest.raises(RefusedError):
        consent_for(request_, dataclasses.replace(PROD, context="dev"), PROD_ALLOWED)
