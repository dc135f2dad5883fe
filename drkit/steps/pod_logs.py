"""The `podLogs` checklist item: a container's log says what a healthy run says.

Runbooks end with lines like "MLServer agent logs show successful model loading": someone runs `kubectl logs`
and reads. This item does the reading: for the pod named (or every pod a selector matches, at least one), it
fetches the container's log through the API server (`pods/log`, as `kubectl logs -c CONTAINER [--tail N]
[--previous]`) and passes when every `contains` text and every `matches` regular expression is found in it,
and no `absent` text is. A failure names the pod, the container and what was missing (or present), and shows
the log's last lines, with anything that looks like a credential redacted (the engine also masks the
playbook's secret values, as for every item, and the kube adapter reads the Secrets the pod takes first so
their values are masked too; when one cannot be read the log is still judged, but no line of it is shown).

A log grows without the Pod changing, so there is no watch to wait on: the checklist retries this item on
its timer until the checklist's timeout. `previous: true` reads the run before the current one (what an
on-call engineer reads after a restart, an OOMKilled MLServer's say). RBAC: `get` on `pods/log` (and `list`
on `pods` with a selector, `get` with a name; `get` on the pods' `secrets` to show their lines).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from drkit.errors import DrkitError
from drkit.kube.errors import redact
from drkit.playbook.fields import Bool, Field, Int, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import Playbook
from drkit.steps.access import AccessScope, StepAccess, pod_log_access
from drkit.steps.base import ProbeKind, StepContext, StepResult, StepStatus
from drkit.steps.selectors import SELECTOR, label_selector
from drkit.steps.settings import (
    StepConfigError,
    as_mapping,
    compile_regex,
    opt_bool,
    opt_int,
    opt_str,
    req_str,
    str_list,
)

SHOWN_LINES = 5  # the log's last lines a failure shows
SHOWN_LINE_CHARS = 240

BODY = Obj(
    description="The log of one container of the pods named or selected must contain (or match) every line "
    "given, and none of `absent`.",
    fields={
        "namespace": Field(Str(), description="The namespace (the context's namespace when absent)."),
        "selector": Field(SELECTOR, description="The pods: every pod these labels select (at least one)."),
        "name": Field(Str(min_length=1), description="The pod: this one, by name."),
        "container": Field(Str(min_length=1), required=True, description="The container whose log is read."),
        "contains": Field(ListOf(Str(min_length=1), min_items=1), description="Texts each log must contain."),
        "matches": Field(
            ListOf(Str(min_length=1), min_items=1),
            description="Regular expressions each log must match somewhere (Python; `^`, `$` per line).",
        ),
        "absent": Field(ListOf(Str(min_length=1), min_items=1), description="Texts no log may contain."),
        "tailLines": Field(
            Int(minimum=1), description="Read only the last N lines (default: the whole log)."
        ),
        "previous": Field(
            Bool(), description="Read the previous run's log (after a restart), default false."
        ),
    },
    exactly_one_of=(("selector", "name"),),
    at_least_one_of=(("contains", "matches", "absent"),),
)

SCHEMA = KindSchema(
    kind="podLogs",
    body=BODY,
    description="A container's log (kubectl logs) contains the lines a healthy run prints, and not others.",
    examples=(
        {
            "namespace": "financial-inference",
            "selector": {"seldon-server-name": "mlserver"},
            "container": "mlserver",
            "contains": ["Loaded model 'baseline-predictor' successfully"],
            "absent": ["Traceback"],
        },
    ),
)


@dataclass(frozen=True)
class PodLogsSettings:
    namespace: str | None
    container: str
    label_selector: str = ""
    pod_name: str | None = None
    contains: tuple[str, ...] = ()
    matches: tuple[re.Pattern[str], ...] = ()
    absent: tuple[str, ...] = ()
    tail_lines: int | None = None
    previous: bool = False

    def describe(self) -> str:
        pods = f"pod {self.pod_name}" if self.pod_name else f"pods with labels {self.label_selector}"
        where = f" in {self.namespace}" if self.namespace else ""
        run = "previous " if self.previous else ""
        wanted = [*(repr(t) for t in self.contains), *(f"/{p.pattern}/" for p in self.matches)]
        says = f" shows {', '.join(wanted)}" if wanted else ""
        nots = f" and not {', '.join(repr(t) for t in self.absent)}" if self.absent else ""
        return f"{run}log of container {self.container} of {pods}{where}{says}{nots}"


def parse_settings(body: object) -> PodLogsSettings:
    data = as_mapping(body, "podLogs")
    selector = label_selector(data.get("selector"))
    if data.get("selector") is not None and not selector:  # "" (or an empty `${x}`) would select all
        raise StepConfigError("`podLogs` needs exactly one of `selector` (labels) and `name` (one pod)")
    contains, absent = str_list(data, "contains"), str_list(data, "absent")
    patterns = []
    for text in str_list(data, "matches"):
        compiled = compile_regex(text, "matches")
        assert compiled is not None
        patterns.append(re.compile(compiled.pattern, re.MULTILINE))
    return PodLogsSettings(
        namespace=opt_str(data, "namespace") or None,
        container=req_str(data, "container"),
        label_selector=selector,
        pod_name=opt_str(data, "name"),
        contains=contains,
        matches=tuple(patterns),
        absent=absent,
        tail_lines=None if data.get("tailLines") is None else opt_int(data, "tailLines", 0),
        previous=opt_bool(data, "previous", default=False),
    )


@dataclass(frozen=True)
class LogVerdict:
    """What one pod's log lacks or holds that it should not; `error` when it could not be read."""

    pod: str
    missing: tuple[str, ...] = ()
    unwanted: tuple[str, ...] = ()
    last_lines: tuple[str, ...] = ()
    error: str | None = None
    withheld: str | None = None  # why no line is shown: the log could hold a value drkit cannot mask

    @property
    def passed(self) -> bool:
        return self.error is None and not self.missing and not self.unwanted


def judge_log(
    settings: PodLogsSettings, pod: str, text: str, mask: Callable[[str], str] = lambda line: line
) -> LogVerdict:
    """The verdict on one log's text (pure: the tests feed it text). The lines shown are masked with the
    run's secrets (`mask`) before they are cut short, so no prefix of a secret is left."""
    missing = [repr(t) for t in settings.contains if t not in text]
    missing += [f"/{p.pattern}/" for p in settings.matches if p.search(text) is None]
    unwanted = tuple(repr(t) for t in settings.absent if t in text)
    lines = text.splitlines()
    shown = tuple(_shown(mask(line)) for line in lines[-SHOWN_LINES:])
    if unwanted:  # show where the unwanted text is, not only the end
        first = _shown(mask(next(line for line in lines if any(t in line for t in settings.absent))))
        shown = (first, *(s for s in shown if s != first))
    return LogVerdict(pod, tuple(missing), unwanted, shown)


def _shown(line: str) -> str:
    return redact(line, limit=SHOWN_LINE_CHARS)


class PodLogsProbe:
    def __init__(self, name: str, settings: PodLogsSettings) -> None:
        self.name = name
        self.settings = settings

    def describe(self) -> str:
        return self.settings.describe()

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        return StepAccess(tuple(pod_log_access(scope.namespace_of(self.settings.namespace))))

    def attempt(self, ctx: StepContext) -> StepResult:
        s = self.settings
        cluster = ctx.cluster()
        namespace = s.namespace or cluster.default_namespace
        if s.pod_name is not None:
            pod = cluster.get("v1", "Pod", s.pod_name, namespace)
            if pod is None:
                return StepResult(StepStatus.FAILED, f"pod {s.pod_name} not found in {namespace}")
            pods = [pod]
        else:
            pods = cluster.list("v1", "Pod", namespace, label_selector=s.label_selector)
            if not pods:
                return StepResult(StepStatus.FAILED, f"no pod with labels {s.label_selector} in {namespace}")
        verdicts = []
        for pod in pods:
            name = _name(pod)
            try:
                log = cluster.pod_log(pod, s.container, s.tail_lines, s.previous)
            except DrkitError as exc:  # a KubeError: not started yet, no previous run, RBAC...
                verdicts.append(LogVerdict(name, error=exc.message))
                continue
            verdict = judge_log(s, name, log.text, ctx.runtime.secrets.mask)
            if not log.maskable:  # judged all the same; only what would be shown is left out
                verdict = replace(verdict, last_lines=(), withheld=log.withheld_because())
            verdicts.append(verdict)
        return report(s, verdicts)


def report(settings: PodLogsSettings, verdicts: list[LogVerdict]) -> StepResult:
    details: dict[str, object] = {
        "container": settings.container,
        "pods": [
            {"pod": v.pod, "passed": v.passed, "missing": list(v.missing), "unwanted": list(v.unwanted)}
            | ({"error": v.error} if v.error else {})
            for v in verdicts
        ],
    }
    failing = [v for v in verdicts if not v.passed]
    if not failing:
        run = "previous " if settings.previous else ""
        return StepResult(
            StepStatus.SUCCEEDED,
            f"the {run}log of container {settings.container} shows what was expected in "
            f"{len(verdicts)} pod(s)",
            details,
        )
    parts = []
    for v in failing:
        where = f"pod {v.pod} container {settings.container}"
        if v.error is not None:
            parts.append(f"{where}: log not readable: {v.error}")
            continue
        said = []
        if v.missing:
            said.append(f"missing {', '.join(v.missing)}")
        if v.unwanted:
            said.append(f"has {', '.join(v.unwanted)}")
        if v.withheld is not None:
            tail = f"(not shown: {v.withheld})"
        else:
            tail = " | ".join(v.last_lines) if v.last_lines else "(the log is empty)"
        parts.append(f"{where}: {'; '.join(said)}; last lines: {tail}")
    return StepResult(
        StepStatus.FAILED,
        f"{len(failing)} of {len(verdicts)} pod log(s) not as expected: " + "; ".join(parts),
        details,
    )


def _name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name", "?"))


def _build_probe(name: str, body: object, playbook: Playbook) -> PodLogsProbe:
    return PodLogsProbe(name, parse_settings(body))


PROBE_KIND = ProbeKind(schema=SCHEMA, build=_build_probe, needs_cluster=True)
