"""The drill-vs-kubectl benchmark's pure parts on small fixtures, so `make bench` cannot rot silently.

The benchmark itself (labs, MLflow, the drill, the scripted baseline) runs only from `make bench`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bench import drill_vs_kubectl as bench
from bench.drill_vs_kubectl import StoreEvent


@pytest.mark.parametrize(
    ("method", "path", "query", "watch", "expected"),
    [
        ("GET", "/api", "", False, "discovery"),
        ("GET", "/apis/mlops.seldon.io/v1alpha1", "", False, "discovery"),
        ("GET", "/openapi/v2", "", False, "discovery"),
        ("GET", "/api/v1/namespaces", "", False, "list"),
        ("GET", "/api/v1/namespaces/financial-inference", "", False, "get"),
        ("GET", "/apis/mlops.seldon.io/v1alpha1/namespaces/fi/models", "", False, "list"),
        ("GET", "/apis/mlops.seldon.io/v1alpha1/namespaces/fi/models/baseline-predictor", "", False, "get"),
        ("GET", "/apis/mlops.seldon.io/v1alpha1/namespaces/fi/models", "watch=true&rv=5", False, "watch"),
        ("GET", "/apis/argoproj.io/v1alpha1/namespaces/p/workflows", "", True, "watch"),
        ("POST", "/apis/argoproj.io/v1alpha1/namespaces/p/workflows", "", False, "create"),
        ("PATCH", "/apis/mlops.seldon.io/v1alpha1/namespaces/fi/models/m", "", False, "patch"),
        ("PUT", "/api/v1/namespaces/fi/finalize", "", False, "update"),
        ("DELETE", "/api/v1/namespaces/fi", "", False, "delete"),
        ("GET", "/lab/status", "", False, "other"),
    ],
)
def test_classify_request(method: str, path: str, query: str, watch: bool, expected: str) -> None:
    record = {"method": method, "path": path, "query": query, "watch": watch}
    assert bench.classify_request(record) == expected


def test_count_requests_only_inside_the_window_by_verb_and_client(tmp_path: Path) -> None:
    lines = [
        {
            "time": 99.0,
            "method": "DELETE",
            "path": "/api/v1/namespaces/x",
            "status": 200,
            "user_agent": "kubectl/v1",
        },
        {"time": 100.0, "method": "GET", "path": "/api/v1", "status": 200, "user_agent": "kubectl/v1.37"},
        {
            "time": 101.0,
            "method": "GET",
            "path": "/api/v1/namespaces/x",
            "status": 404,
            "user_agent": "kubectl/v1",
        },
        {
            "time": 102.0,
            "method": "PATCH",
            "path": "/api/v1/namespaces/x",
            "status": 200,
            "user_agent": "Gen/3",
        },
        {"time": 103.0, "method": "GET", "path": "/api/v1/pods", "status": 200, "user_agent": "Gen/3"},
    ]
    log = tmp_path / "requests.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in lines) + "\n", encoding="utf-8")
    with log.open(encoding="utf-8") as handle:
        counts = bench.count_requests(handle, 100.0, 102.5)
    assert counts == {
        "total": 3,
        "writes": 1,
        "by_verb": {"discovery": 1, "get": 1, "patch": 1},
        "by_client": {"Gen": 1, "kubectl": 2},
        "errors": 1,
    }


BASELINE_OUTPUT = """\
namespace "financial-inference" deleted
@@ phase-start:teardown 1000.0
@@ noticed:namespaces-gone 1002.5
@@ phase-end:teardown 1002.5
@@ phase-start:rebuild 1002.6
@@ noticed:server-ready 1010.0
@@ phase-end:rebuild 1010.1
@@ noticed:workflow:train-abc 1020.0
@@ noticed:workflow:train-abc 1999.0
"""


def test_baseline_markers_give_phases_and_noticed_times() -> None:
    markers = bench.parse_markers(BASELINE_OUTPUT)
    assert markers["noticed:workflow:train-abc"] == 1020.0  # the first occurrence wins
    assert bench.baseline_phases(markers) == pytest.approx({"teardown": 2.5, "rebuild": 7.5})
    assert bench.baseline_noticed(markers) == {
        "namespaces-gone": 1002.5,
        "server-ready": 1010.0,
        "workflow:train-abc": 1020.0,
    }


def _step(kind: str, started: float, finished: float, details: dict[str, object]) -> dict[str, object]:
    return {"kind": kind, "startedAt": started, "finishedAt": finished, "details": details}


DRKIT_REPORT = {
    "outcome": "succeeded",
    "phases": [
        {"name": "teardown", "duration": 5.5, "steps": [_step("clearFinalizers", 1000.0, 1005.5, {})]},
        {
            "name": "rebuild",
            "duration": 7.0,
            "steps": [
                _step(
                    "wait",
                    1006.0,
                    1012.0,
                    {"objects": [{"object": "Server ns/mlserver", "readyAfterSeconds": 6}]},
                )
            ],
        },
        {
            "name": "pipelines",
            "duration": 9.0,
            "steps": [_step("pipeline", 1012.0, 1021.0, {"workflow": "train-abc"})],
        },
        {
            "name": "deploy",
            "duration": 2.0,
            "steps": [
                _step(
                    "apply",
                    1030.0,
                    1032.0,
                    {
                        "ready": [
                            {"object": "Namespace fi", "readyAfterSeconds": 0.1},
                            {"object": "Model fi/baseline-predictor", "readyAfterSeconds": 1.0},
                            {"object": "Model fi/enhanced-predictor", "readyAfterSeconds": 1.5},
                        ]
                    },
                )
            ],
        },
    ],
}


def test_drkit_report_gives_phases_and_noticed_times() -> None:
    assert bench.drkit_phases(DRKIT_REPORT) == {
        "teardown": 5.5,
        "rebuild": 7.0,
        "pipelines": 9.0,
        "deploy": 2.0,
    }
    assert bench.drkit_noticed(DRKIT_REPORT) == {
        "namespaces-gone": 1005.5,
        "server-ready": 1012.0,
        "workflow:train-abc": 1021.0,
        "models-ready": 1031.5,
    }


def _ev(
    t: float, kind: str, name: str, ready: bool = False, type_: str = "MODIFIED", uri: str = ""
) -> StoreEvent:
    namespace = "" if kind == "Namespace" else bench.PIPELINES_NS if kind == "Workflow" else bench.SERVING_NS
    return StoreEvent(t, type_, kind, namespace, name, ready, uri)


EVENTS = [
    _ev(1001.0, "Model", "baseline-predictor", type_="DELETED"),
    _ev(1004.0, "Server", "mlserver", type_="DELETED"),
    _ev(1005.0, "Namespace", bench.SERVING_NS, type_="DELETED"),
    _ev(1005.2, "Namespace", bench.PIPELINES_NS, type_="DELETED"),
    _ev(1006.0, "Server", "mlserver", type_="ADDED"),
    _ev(1011.9, "Server", "mlserver", ready=True),
    _ev(1012.0, "Workflow", "train-abc", type_="ADDED"),
    _ev(1020.0, "Workflow", "train-abc", ready=True),
    _ev(1020.5, "Workflow", "train-abc", ready=True),  # a later status write: still the 1020.0 transition
    _ev(1025.0, "Model", "baseline-predictor", type_="ADDED", uri="s3://old"),
    _ev(1025.0, "Model", "enhanced-predictor", type_="ADDED", uri="s3://old"),
    _ev(1030.2, "Model", "baseline-predictor", uri="s3://new-b"),
    _ev(1030.3, "Model", "enhanced-predictor", uri="s3://new-e"),
    _ev(1030.9, "Model", "baseline-predictor", ready=True, uri="s3://new-b"),
    _ev(1031.0, "Model", "enhanced-predictor", ready=True, uri="s3://new-e"),
]


def test_detection_lag_is_noticed_minus_the_stores_transition() -> None:
    lags = bench.detection_lags(EVENTS, bench.drkit_noticed(DRKIT_REPORT))
    assert lags == pytest.approx(
        {"namespaces-gone": 0.3, "server-ready": 0.1, "workflows": 1.0, "models-ready": 0.5}, abs=1e-6
    )


def test_platform_intervals_and_overhead_count_overlaps_once() -> None:
    intervals = bench.platform_intervals(EVENTS, 1000.0, 1040.0, outage=(1000.0, 1008.0))
    assert intervals["teardown"] == [(1004.0, 1005.2)]
    assert intervals["rebuild"] == [(1006.0, 1011.9)]
    assert intervals["pipelines"] == [(1012.0, 1020.0)]
    assert intervals["deploy"] == [(1030.3, 1031.0)]
    seconds = bench.platform_seconds(intervals, 1000.0, 1040.0)
    # outage [1000, 1008] swallows teardown and the start of rebuild: 8 + 3.9 + 8 + 0.7
    assert seconds["critical_path"] == pytest.approx(20.6)
    assert seconds["outage"] == pytest.approx(8.0)


def test_covered_seconds_clips_to_the_window() -> None:
    assert bench.covered_seconds([(0.0, 5.0), (3.0, 7.0), (9.0, 20.0)], 1.0, 10.0) == pytest.approx(7.0)
    assert bench.covered_seconds([], 0.0, 10.0) == 0.0


def test_summary_medians_and_ratios_over_successful_runs() -> None:
    runs = [
        {"contender": "drkit", "ok": True, "wall_seconds": w, "requests": {"total": 300, "by_verb": {}}}
        for w in (40.0, 42.0, 50.0)
    ] + [
        {
            "contender": "baseline",
            "ok": True,
            "wall_seconds": 60.0,
            "requests": {"total": 120, "by_verb": {"get": 5}},
        },
        {"contender": "baseline", "ok": False, "wall_seconds": 999.0},
    ]
    summary = bench.summarize(runs)
    assert summary["drkit"]["wall_seconds"] == {"median": 42.0, "min": 40.0, "max": 50.0}
    assert summary["drkit"]["requests.by_verb.get"]["median"] == 0.0
    assert summary["baseline"]["wall_seconds"]["max"] == 60.0
    assert bench.ratios(summary) == {"wall_seconds": round(60 / 42, 2), "requests.total": 0.4}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_baseline_script_parses() -> None:
    result = subprocess.run(
        ["bash", "-n", str(bench.BASELINE_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_each_plane_and_latency_has_its_own_results_file() -> None:
    names = {
        bench.results_path(plane, latency).name
        for plane in ("emulated", "real")
        for latency in (0.0, 5.0, 20.0, 2.5)
    }
    assert len(names) == 8
    assert bench.results_path("emulated", 0.0).name == "drill_vs_kubectl.json"  # the committed default
    assert bench.results_path("real", 20.0).name == "drill_vs_kubectl_real_20ms.json"
    assert bench.results_path("emulated", 2.5).name == "drill_vs_kubectl_2.5ms.json"
