"""The `check` step: run a named checklist until every item has passed, and record when each first did.

The first-pass time of each item is the measurement a DR drill is after ("the model was serving 3m12s after
the rebuild started"), so items that passed are not attempted again while the others are retried, and the
items of a round are attempted side by side: they only read, and an item that takes long (an MLflow that
does not answer is retried) must not delay the others' verdicts and first-pass times.

Between rounds the runner waits for a reason to look again. When every pending item reads the cluster
(`base.Watchable`), that reason is a watch event after the version each item last read, so an item
is re-attempted when its objects change instead of on a timer; otherwise (http, command items, or a cluster
read that failed) it sleeps `round_interval`.

The probes are not built here: the engine builds each checklist once per run, before anything runs, and
hands the step the one it names (`base.ChecklistRunner`), so a retried step or a second check of the same
checklist attempts the same probes, and no other layer knows this kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace

from drkit.errors import DrkitError, InternalError
from drkit.kube.changes import Change, WatchPoint, wait_for_any_change
from drkit.playbook.fields import Duration, Field, KindSchema, Obj, OneOf, Str
from drkit.playbook.language import CHECK_KIND
from drkit.playbook.model import StepSpec
from drkit.report.model import ChecklistItemReport
from drkit.steps.access import AccessDeclared, AccessScope, StepAccess
from drkit.steps.base import (
    BuiltChecklist,
    Probe,
    StepContext,
    StepKind,
    StepPlan,
    StepResult,
    StepStatus,
    Watchable,
)
from drkit.steps.settings import StepConfigError, as_mapping, opt_number

DEFAULT_TIMEOUT_SECONDS = 5 * 60.0
ROUND_INTERVAL_SECONDS = 1.0
MIN_ATTEMPT_SECONDS = 5.0
# Without an event, cluster items are still looked at this often (a safety net for a missed event).
EVENT_WAIT_SECONDS = 15.0
# Rounds start at most this often, however busy the watched kinds are.
MIN_ROUND_SECONDS = 0.2
MAX_ITEM_LINES = 8  # failing items named in the progress text; the rest are counted
CHECK_WORKERS = 8  # items attempted at once in a round

ChangeWaiter = Callable[[StepContext, list[WatchPoint], float], Change]


def wait_on_cluster(ctx: StepContext, points: list[WatchPoint], timeout: float) -> Change:
    return wait_for_any_change(ctx.cluster(), points, timeout)


BODY = OneOf(
    (
        Str(min_length=1, names_checklist=True),
        Obj(
            fields={
                "checklist": Field(
                    Str(min_length=1, names_checklist=True),
                    required=True,
                    description="The checklist to run.",
                ),
                "timeout": Field(
                    Duration(minimum_seconds=0.0),
                    description="Time every item has to pass by; overrides the checklist's.",
                ),
            }
        ),
    ),
    description="A checklist name, or {checklist: name, timeout: 5m}.",
)

SCHEMA = KindSchema(
    kind=CHECK_KIND,
    body=BODY,
    description="Run a checklist until every item passes; records when each item first passed.",
    examples=("infrastructure-health", {"checklist": "model-serving", "timeout": "10m"}),
)


@dataclass(frozen=True)
class CheckSettings:
    checklist: str
    timeout: float | None = None


def parse_settings(body: object) -> CheckSettings:
    if isinstance(body, str):
        return CheckSettings(checklist=body)
    data = as_mapping(body, "check")
    name = data.get("checklist")
    if not isinstance(name, str) or not name:
        raise StepConfigError("`check` needs the name of a checklist")
    timeout = data.get("timeout")
    return CheckSettings(
        checklist=name, timeout=None if timeout is None else opt_number(data, "timeout", 0.0)
    )


def run_checklist(
    name: str,
    probes: Sequence[Probe],
    ctx: StepContext,
    *,
    timeout: float | None,
    round_interval: float = ROUND_INTERVAL_SECONDS,
    event_wait: float = EVENT_WAIT_SECONDS,
    wait_for_change: ChangeWaiter = wait_on_cluster,
) -> StepResult:
    """Attempt every not-yet-passed probe each round until all pass or `timeout` (else ctx's deadline);
    between rounds wait up to `event_wait` for a change when every pending item can be watched, else sleep
    `round_interval`."""
    clock: Callable[[], float] = ctx.runtime.monotonic
    started = clock()
    deadline = ctx.deadline if timeout is None else started + timeout
    probe_ctx = replace(ctx, deadline=deadline)
    first_pass: dict[str, float] = {}
    attempts: dict[str, int] = dict.fromkeys((p.name for p in probes), 0)
    last_message: dict[str, str] = {}
    while True:
        round_started = clock()
        pending = [p for p in probes if p.name not in first_pass]
        running = {p.name for p in pending}
        for probe in pending:
            attempts[probe.name] += 1
        # An attempt can take long (an MLflow that does not answer is retried): say which ones run.
        ctx.progress(_awaited(probes, first_pass, last_message, checking=running))
        # The last round runs at the deadline; an attempt still gets MIN_ATTEMPT_SECONDS, because its own
        # verdict ("exited with 3") says more than "killed after 0.0s".
        floor = clock() + MIN_ATTEMPT_SECONDS
        attempt_ctx = probe_ctx if deadline is None or deadline >= floor else replace(ctx, deadline=floor)
        for probe, result in _attempt_side_by_side(pending, attempt_ctx):
            running.discard(probe.name)
            last_message[probe.name] = result.message
            if result.status is StepStatus.SUCCEEDED:
                first_pass[probe.name] = clock() - started
            if running:
                ctx.progress(_awaited(probes, first_pass, last_message, checking=running))
        ctx.progress(_awaited(probes, first_pass, last_message))
        out_of_time = deadline is not None and clock() >= deadline
        if len(first_pass) == len(probes) or out_of_time:
            break
        remaining = None if deadline is None else max(0.0, deadline - clock())
        points = _watch_points([p for p in probes if p.name not in first_pass])
        if points is not None:
            limit = event_wait if remaining is None else min(event_wait, remaining)
            if wait_for_change(probe_ctx, points, limit) is not Change.BROKEN:
                _pace(ctx, round_started, deadline)
                continue
            remaining = None if deadline is None else max(0.0, deadline - clock())
        ctx.runtime.sleep(round_interval if remaining is None else min(round_interval, remaining))
    items = [
        ChecklistItemReport(
            name=p.name,
            description=p.describe(),
            passed=p.name in first_pass,
            first_passed_after=first_pass.get(p.name),
            attempts=attempts[p.name],
            message=last_message.get(p.name, ""),
        )
        for p in probes
    ]
    details: dict[str, object] = {"checklist": name}
    failing = [i for i in items if not i.passed]
    if not failing:
        return StepResult(
            StepStatus.SUCCEEDED, f"all {len(items)} items of {name!r} passed", details, tuple(items)
        )
    waited = clock() - started
    lines = "; ".join(f"{i.name}: {i.message}" for i in failing)
    return StepResult(
        StepStatus.FAILED,
        f"{len(failing)} of {len(items)} items of {name!r} still failing after {waited:.1f}s: {lines}",
        details,
        tuple(items),
    )


def _awaited(
    probes: Sequence[Probe],
    first_pass: Mapping[str, float],
    last_message: Mapping[str, str],
    checking: set[str] | frozenset[str] = frozenset(),
) -> str:
    """The progress text: how many items passed (and which ones are being attempted), then each item still
    failing with what it last said, so a checklist that waits minutes shows what it waits for."""
    head = f"{len(first_pass)}/{len(probes)} items passed"
    if checking:
        head += f"; checking {', '.join(p.name for p in probes if p.name in checking)}"
    failing = [
        (p.name, last_message[p.name]) for p in probes if p.name not in first_pass and p.name in last_message
    ]
    lines = [f"{name}: {' '.join(message.split())}" for name, message in failing[:MAX_ITEM_LINES]]
    if len(failing) > MAX_ITEM_LINES:
        lines.append(f"and {len(failing) - MAX_ITEM_LINES} more failing")
    return "\n".join([head, *lines])


def _watch_points(pending: list[Probe]) -> list[WatchPoint] | None:
    """Where to watch for the pending items, or None when any of them cannot be watched (use the timer)."""
    points: list[WatchPoint] = []
    for probe in pending:
        point = probe.watch_point() if isinstance(probe, Watchable) else None
        if point is None:
            return None
        points.append(point)
    return points


def _pace(ctx: StepContext, round_started: float, deadline: float | None) -> None:
    """Keep rounds MIN_ROUND_SECONDS apart, so a kind that changes constantly cannot make a busy loop."""
    rest = MIN_ROUND_SECONDS - (ctx.runtime.monotonic() - round_started)
    if deadline is not None:
        rest = min(rest, deadline - ctx.runtime.monotonic())
    if rest > 0:
        ctx.runtime.sleep(rest)


def _attempt_side_by_side(probes: Sequence[Probe], ctx: StepContext) -> Iterator[tuple[Probe, StepResult]]:
    """Each probe's verdict, as it comes."""
    if len(probes) == 1:
        yield probes[0], _attempt(probes[0], ctx)
        return
    with ThreadPoolExecutor(
        max_workers=min(CHECK_WORKERS, len(probes)), thread_name_prefix="drkit-check"
    ) as pool:
        attempts = {pool.submit(_attempt, probe, ctx): probe for probe in probes}
        for done in as_completed(attempts):
            yield attempts[done], done.result()


def _attempt(probe: Probe, ctx: StepContext) -> StepResult:
    try:
        return probe.attempt(ctx)
    except DrkitError as exc:
        return StepResult(StepStatus.FAILED, exc.message)


class CheckStep:
    """Runs the checklist its body names, with the probes the engine built for it (`ChecklistRunner`)."""

    def __init__(self, spec: StepSpec, settings: CheckSettings) -> None:
        self.spec = spec
        self.settings = settings
        self._built: BuiltChecklist | None = None

    def use_checklists(self, checklists: Mapping[str, BuiltChecklist]) -> tuple[BuiltChecklist, ...]:
        built = checklists.get(self.settings.checklist)
        if built is None:
            # The loader rejects such playbooks; a playbook built by hand (tests, library use) can get here.
            raise StepConfigError(f"checklist {self.settings.checklist!r} is not defined")
        self._built = built
        return (built,)

    @property
    def checklist(self) -> BuiltChecklist:
        if self._built is None:
            raise InternalError(f"step {self.spec.name!r} planned or run before it was handed its checklist")
        return self._built

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """What its items need together."""
        needed = StepAccess()
        for probe in self.checklist.probes:
            if isinstance(probe, AccessDeclared):
                needed += probe.access(ctx, scope)
        return needed

    def plan(self, ctx: StepContext) -> StepPlan:
        built = self.checklist
        return StepPlan(
            summary=f"would check {built.checklist.name!r} ({len(built.probes)} items)",
            actions=tuple(p.describe() for p in built.probes),
        )

    def run(self, ctx: StepContext) -> StepResult:
        built = self.checklist
        timeout = self.settings.timeout if self.settings.timeout is not None else built.checklist.timeout
        return run_checklist(built.checklist.name, built.probes, ctx, timeout=timeout)


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: CheckStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
)
