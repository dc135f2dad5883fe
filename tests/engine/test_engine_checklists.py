"""A run builds each checklist item's probe once, before anything runs, and hands it to every `check` step
that runs the checklist (retries included); the items' kinds decide whether the run needs a cluster."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
from helpers import WritePlaybook

from drkit.context import Runtime
from drkit.engine.listener import NullListener
from drkit.engine.playbook_run import RunOptions, run_playbook
from drkit.engine.request import RunMode, RunRequest
from drkit.errors import RefusedError
from drkit.playbook.fields import Field, Int, KindSchema, Obj
from drkit.playbook.loader import load_playbook
from drkit.playbook.model import Playbook
from drkit.report.model import Outcome, RunReport, StepState
from drkit.steps.base import ProbeKind, StepContext, StepResult, StepStatus
from drkit.steps.registry import PROBE_KINDS, STEP_KINDS, probe_schemas, step_schemas

COUNTED = KindSchema(
    kind="counted",
    description="passes from its `passesOn`-th attempt in the run",
    body=Obj({"passesOn": Field(Int(minimum=1), required=True)}),
)


class CountedKind:
    """A probe kind that counts how often each item is built; its probes count their attempts."""

    def __init__(self) -> None:
        self.builds: Counter[str] = Counter()

    def kind(self, *, needs_cluster: bool = False) -> ProbeKind:
        return ProbeKind(schema=COUNTED, build=self._build, needs_cluster=needs_cluster)

    def _build(self, name: str, body: object, playbook: Playbook) -> _Probe:
        self.builds[name] += 1
        passes_on = body.get("passesOn") if isinstance(body, Mapping) else None
        return _Probe(name, int(passes_on) if isinstance(passes_on, int) else 1)


class _Probe:
    def __init__(self, name: str, passes_on: int) -> None:
        self.name = name
        self.passes_on = passes_on
        self.attempts = 0

    def describe(self) -> str:
        return f"{self.name} passes on attempt {self.passes_on}"

    def attempt(self, ctx: StepContext) -> StepResult:
        self.attempts += 1
        if self.attempts >= self.passes_on:
            return StepResult(StepStatus.SUCCEEDED, f"passed on attempt {self.attempts}")
        return StepResult(StepStatus.FAILED, f"attempt {self.attempts} of {self.passes_on}")


def _run(path: Path, runtime: Runtime, probe_kind: ProbeKind, mode: RunMode, **request: object) -> RunReport:
    playbook = load_playbook(
        path, step_kinds=step_schemas(), check_kinds={**probe_schemas(), "counted": COUNTED}
    )
    return run_playbook(
        playbook,
        RunRequest(playbook_path=path, mode=mode, assume_yes=True, **request),  # type: ignore[arg-type]
        runtime,
        NullListener(),
        None,
        options=RunOptions(
            step_kinds=STEP_KINDS, probe_kinds={**PROBE_KINDS, "counted": probe_kind}, sinks=()
        ),
    )


# Two rounds fit in the first check's 1s (one a second): `slow` fails both, so the step is retried, and
# passes on its third attempt only if the retry attempts the probe the first try built.
PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: counted}
phases:
  - name: validate
    steps:
      - name: first
        check: {checklist: health, timeout: 1s}
        retries: 1
      - name: again
        check: health
checklists:
  health:
    - {name: quick, counted: {passesOn: 1}}
    - {name: slow, counted: {passesOn: 3}}
  unused:
    - {name: spare, counted: {passesOn: 1}}
"""


def test_each_probe_is_built_once_per_run_and_shared_by_plans_retries_and_steps(
    write_playbook: WritePlaybook, runtime: Runtime
) -> None:
    counted = CountedKind()
    report = _run(write_playbook(PLAYBOOK), runtime, counted.kind(), RunMode.DRILL)
    assert report.outcome is Outcome.SUCCEEDED, report.message
    steps = {s.name: s for s in report.steps}
    assert steps["first"].attempts == 2
    assert [i.attempts for i in steps["first"].checklist_items] == [1, 1]  # the retry's own items
    assert steps["again"].status is StepState.SUCCEEDED
    assert counted.builds == {"quick": 1, "slow": 1, "spare": 1}


def test_a_check_run_builds_each_probe_once(write_playbook: WritePlaybook, runtime: Runtime) -> None:
    counted = CountedKind()
    report = _run(write_playbook(PLAYBOOK), runtime, counted.kind(), RunMode.CHECK)
    assert report.outcome is Outcome.SUCCEEDED, report.message
    assert [s.name for s in report.steps] == ["health", "unused"]
    assert counted.builds == {"quick": 1, "slow": 1, "spare": 1}


KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: elsewhere, context: {cluster: c, user: u}}]
current-context: elsewhere
"""


@pytest.mark.parametrize("needs_cluster", [True, False])
def test_a_check_needs_the_cluster_when_an_item_kind_does(
    write_playbook: WritePlaybook, runtime: Runtime, needs_cluster: bool
) -> None:
    """A check whose items read the cluster is refused on a context the playbook does not target, before
    any request; one whose items do not never reads the kubeconfig."""
    path = write_playbook(PLAYBOOK)
    kubeconfig = write_playbook(KUBECONFIG, "kubeconfig.yaml")
    kind = CountedKind().kind(needs_cluster=needs_cluster)
    if needs_cluster:
        with pytest.raises(RefusedError, match="may not act on kubeconfig context 'elsewhere'"):
            _run(path, runtime, kind, RunMode.DRILL, kubeconfig=str(kubeconfig))
    else:
        report = _run(path, runtime, kind, RunMode.DRILL, kubeconfig=str(kubeconfig))
        assert report.outcome is Outcome.SUCCEEDED, report.message
