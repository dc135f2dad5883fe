"""The metrics sink: a finished run's Prometheus metrics (drkit.report.metrics) next to its report, in a
node_exporter textfile-collector directory, and on a Pushgateway, as the environment asks.

- always `<run directory>/metrics.prom`;
- `DRKIT_METRICS_DIR`: also `<dir>/drkit_<playbook>.prom`, replaced by rename (the collector may read at any
  moment and must never see half a file; the temporary name does not end in `.prom`, so it is never read);
- `DRKIT_PUSHGATEWAY_URL`: pushed under job "drkit", grouped by playbook and cluster, so each playbook's last
  run on each cluster replaces its previous one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from drkit.errors import DrkitError
from drkit.http_client import push_metrics
from drkit.report.json_report import write_atomically
from drkit.report.metrics import build_registry, exposition, run_labels
from drkit.report.model import RunReport

if TYPE_CHECKING:  # afterwards imports the sinks
    from drkit.engine.afterwards import FinishedRun

METRICS_DIR_ENV = "DRKIT_METRICS_DIR"
PUSHGATEWAY_ENV = "DRKIT_PUSHGATEWAY_URL"
RUN_METRICS_FILE = "metrics.prom"
PUSH_JOB = "drkit"
PUSH_TIMEOUT = 5.0  # seconds: a Pushgateway answers at once or is not there


def collector_file_name(report: RunReport) -> str:
    """`drkit_<playbook>.prom`, the playbook name reduced to characters safe in a file name."""
    return "drkit_" + re.sub(r"[^A-Za-z0-9_.-]", "_", report.playbook_name or "playbook") + ".prom"


class MetricsSink:
    name = "metrics"

    def record(self, run: FinishedRun) -> str | None:
        mask = run.runtime.secrets.mask
        registry = build_registry(run.report, mask)
        text = exposition(registry)
        write_atomically(run.directory / RUN_METRICS_FILE, text)
        said: list[str] = []
        collector_dir = run.runtime.env.get(METRICS_DIR_ENV)
        if collector_dir:
            target = run.runtime.cwd / collector_dir / collector_file_name(run.report)
            write_atomically(target, text)
            said.append(f"written to {target}")
        gateway = run.runtime.env.get(PUSHGATEWAY_ENV)
        if gateway:
            labels = run_labels(run.report, mask)
            key = {"playbook": labels["playbook"], "cluster": labels["cluster"]}
            try:
                host = push_metrics(gateway, PUSH_JOB, key, registry, timeout=PUSH_TIMEOUT)
            except DrkitError as exc:  # metrics.prom is written all the same: say what was not done
                said.append(f"not pushed ({run.runtime.secrets.mask(str(exc))})")
            else:
                said.append(f"pushed to {host}")
        return "; ".join(said) or None
