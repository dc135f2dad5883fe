"""A finished run as a Slack-compatible message (`text` for clients that show only that, `blocks` for Slack):
what on-call needs to act on it without opening the report: playbook, cluster, outcome, time to recovery
against the RTO, the step that failed and why, and the run id to look it up with `drkit runs show`."""

from __future__ import annotations

from collections.abc import Callable

from drkit.playbook.durations import format_duration
from drkit.report.model import RunReport, StepReport

MAX_MESSAGE_CHARS = 500  # a step message can be a command's output; the report holds the rest


def failing_step(report: RunReport) -> StepReport | None:
    """The first step that failed and was not tolerated (a `finally:` step after the phases' steps)."""
    for step in report.every_step:
        if step.fails_the_run:
            return step
    return None


def webhook_message(report: RunReport, mask: Callable[[str], str]) -> dict[str, object]:
    """The message's JSON body; every string from the run passes through `mask`."""
    cluster = report.cluster.where if report.cluster is not None else "no cluster"
    recovery = format_duration(report.time_to_recovery)
    if report.rto is not None:
        recovery += f" (RTO {format_duration(report.rto)})"
    headline = f"drkit {report.mode} {report.playbook_name}: {report.outcome} on {cluster}"
    fields = [
        f"*Playbook*\n{report.playbook_name}",
        f"*Cluster*\n{cluster}",
        f"*Outcome*\n{report.outcome}",
        f"*Time to recovery*\n{recovery}",
    ]
    lines = [headline, f"time to recovery {recovery}"]
    step = failing_step(report)
    if step is not None:
        said = step.message[:MAX_MESSAGE_CHARS]
        lines.append(f"failed step {step.path}: {said}")
        fields.append(f"*Failed step*\n{step.path}: {said}")
    elif report.message:
        lines.append(report.message[:MAX_MESSAGE_CHARS])
    lines.append(f"run {report.run_id}")
    blocks: list[dict[str, object]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": mask(headline)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": mask(f)} for f in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": mask(f"run `{report.run_id}`")}]},
    ]
    return {"text": mask("\n".join(lines)), "blocks": blocks}
