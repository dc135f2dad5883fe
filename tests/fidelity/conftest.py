"""The differential fidelity suite: every scenario runs on the emulated lab and on the real control plane.

Both planes start once per session (in parallel) and share the suite's CRD (`widgets.fidelity.drkit.io`);
each scenario gets its own namespace on both. A scenario passes when the normalised transcripts are equal; a
known, documented difference is `known_difference(reason)` (a strict xfail, so fixing the emulator flips it).
The run ends with "fidelity: N of M scenarios equal"; with DRKIT_FIDELITY_RESULTS set (to a path, or to 1 for
bench/results/fidelity.json) the per-scenario verdicts are written as JSON.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from fidelity_compare import LEDGER, Scenario, compare
from fidelity_known import KNOWN
from fidelity_planes import Client, Plane
from fidelity_widgets import WIDGET_CRD, WIDGETS

from drkit_lab.controlplane.build import find_built
from drkit_lab.controlplane.real import RealControlPlane
from drkit_lab.runner import Lab
from drkit_lab.settings import LabSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RESULTS = REPO_ROOT / "bench" / "results" / "fidelity.json"
_HERE = Path(__file__).resolve().parent
_verdicts: dict[str, dict[str, Any]] = {}
_started = time.monotonic()


def _emulated(root: Path) -> tuple[Plane, Callable[[], None]]:
    lab = Lab(LabSettings(state_dir=root / "lab", workload_ready_delay=0.2), mlflow=False).start()
    assert lab.ca_path is not None
    store = lab.store
    assert store is not None
    plane = Plane(
        "emulated",
        lab.api_url,
        lab.token,
        lab.ca_path,
        lab.kubeconfig_path,
        root / "kube-emulated",
        False,
        store.compact,
    )
    return plane, lab.stop


def _real(root: Path) -> tuple[Plane, Callable[[], None]]:
    binaries = find_built()
    if binaries is None:
        pytest.fail("the real control plane is not built: run `make controlplane` (or `drkit lab build`)")
    real = RealControlPlane(binaries, root / "real" / "controlplane").start()
    kubeconfig = root / "real" / "kubeconfig"
    kubeconfig.write_text(real.kubeconfig_text(real.credentials.lab), encoding="utf-8")
    assert real.tls is not None
    plane = Plane(
        "real",
        real.url,
        real.credentials.lab,
        real.tls.ca_cert,
        kubeconfig,
        root / "kube-real",
        True,
        lambda: _compact_etcd(real.etcd_url),
    )
    return plane, real.stop


def _compact_etcd(etcd_url: str) -> None:
    """Compact etcd at its current revision through its JSON gateway, as its periodic compaction would."""
    session = requests.Session()
    session.trust_env = False
    status = session.post(f"{etcd_url}/v3/maintenance/status", json={}, timeout=10)
    status.raise_for_status()
    revision = status.json()["header"]["revision"]
    session.post(
        f"{etcd_url}/v3/kv/compaction", json={"revision": revision, "physical": True}, timeout=30
    ).raise_for_status()


def _install_widgets(plane: Plane, root: Path) -> None:
    client = Client(plane, "default", root)
    created = client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGET_CRD, record=False)
    assert created.status == 201, created.body
    name = WIDGET_CRD["metadata"]["name"]
    client.wait_for(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        name,
        lambda crd: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in ((crd or {}).get("status") or {}).get("conditions") or []
        ),
    )
    deadline = time.monotonic() + 30  # Established, then served: the real server's handler lags a little
    while client.get(f"{WIDGETS}/default/widgets", record=False).status != 200:
        assert time.monotonic() < deadline, f"{plane.name}: widgets are not served"
        time.sleep(0.05)  # polling a condition with a deadline: nothing to watch for a handler


@pytest.fixture(scope="session")
def planes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Plane, Plane]]:
    root = tmp_path_factory.mktemp("fidelity")
    stops: list[Callable[[], None]] = []
    try:
        with ThreadPoolExecutor(2) as pool:
            # The real plane starts in this thread: its processes get SIGTERM when the spawning thread ends.
            emulated = pool.submit(_emulated, root)
            real, stop_real = _real(root)
            stops.append(stop_real)
            lab, stop_lab = emulated.result()
            stops.append(stop_lab)
            started = [lab, real]
            list(pool.map(lambda p: _install_widgets(p, root), started))
        yield started[0], started[1]
    finally:
        for stop in stops:
            stop()


@pytest.fixture
def fidelity(
    planes: tuple[Plane, Plane], request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[Scenario], None]:
    """`fidelity(scenario)`: run the scenario on both planes and assert the normalised transcripts match."""

    def run(scenario: Scenario) -> None:
        for plane in planes:
            (tmp_path / plane.name).mkdir(exist_ok=True)
        compare(request.node.nodeid, planes, request.node.name, tmp_path, scenario)

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A known difference is a strict xfail: it must still differ, or its entry has to go."""
    for item in items:
        reason = KNOWN.get(item.name) if _in_suite(item) else None
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


def _in_suite(item: pytest.Item) -> bool:
    return Path(str(item.fspath)).resolve().parent == _HERE


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if not _in_suite(item) or (report.when != "call" and not (report.when == "setup" and report.failed)):
        return report
    outcome = LEDGER.outcomes.get(item.nodeid)
    marker = item.get_closest_marker("xfail")
    reason = str(marker.kwargs.get("reason", "")) if marker else ""
    if report.passed and not hasattr(report, "wasxfail"):
        verdict = "equal"
    elif hasattr(report, "wasxfail") and report.skipped:
        verdict = "known difference"
    else:
        verdict = "failed"
    entry: dict[str, Any] = {"scenario": item.name, "verdict": verdict}
    if reason:
        entry["reason"] = reason
    if outcome is not None and not outcome.equal:
        entry["diff"] = outcome.diff
    elif verdict == "failed":
        entry["error"] = str(report.longrepr)[-2000:]
    _verdicts[item.nodeid] = entry
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _verdicts:
        return
    total = len(_verdicts)
    equal = sum(1 for v in _verdicts.values() if v["verdict"] == "equal")
    known = sum(1 for v in _verdicts.values() if v["verdict"] == "known difference")
    failed = total - equal - known
    terminalreporter.write_line(
        f"fidelity: {equal} of {total} scenarios equal ({known} known differences, {failed} failed)"
    )
    target = os.environ.get("DRKIT_FIDELITY_RESULTS")
    if not target:
        return
    path = DEFAULT_RESULTS if target == "1" else Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.date.today().isoformat(),
        "command": "DRKIT_FIDELITY_RESULTS=1 python -m pytest tests/fidelity (or python -m bench.fidelity)",
        "equal": equal,
        "known_differences": known,
        "failed": failed,
        "total": total,
        "seconds": round(time.monotonic() - _started, 1),
        "scenarios": sorted(_verdicts.values(), key=lambda v: str(v["scenario"])),
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    terminalreporter.write_line(f"fidelity: results written to {path}")
