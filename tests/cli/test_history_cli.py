"""`drkit history`: runs newest first with their RTO margin and a trend per playbook, and `--compare`, in text
and JSON, through the real CLI on the fake clock (a retry's delay is the time a step takes)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from helpers import png_size, run_drkit_on

from drkit.context import Runtime
from drkit.engine.runs import run_dir
from drkit.errors import ExitCode

# The first attempt fails and opens the gate; the retry, DELAY later, passes: the run takes DELAY.
PLAYBOOK = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: nightly}
rto: 1m
phases:
  - name: restore
    steps:
      - name: gate
        command: {run: "test -f open.txt || { touch open.txt; false; }"}
        retries: {count: 1, delay: DELAY, maxDelay: 5m}
"""
EXTRA_STEP = """\
  - name: verify
    steps:
      - name: probe
        command: {run: "true"}
"""


def _drill(runtime: Runtime, tmp_path: Path, delay: str, extra: str = "") -> str:
    (tmp_path / "open.txt").unlink(missing_ok=True)
    (tmp_path / "playbook.yaml").write_text(PLAYBOOK.replace("DELAY", delay) + extra, encoding="utf-8")
    code, out = run_drkit_on(runtime, "recover", "playbook.yaml", "-o", "json")
    assert code in (0, ExitCode.OVER_RTO), runtime.stderr.getvalue()  # type: ignore[attr-defined]
    return str(json.loads(out)["runId"])


@pytest.fixture
def three(runtime: Runtime, tmp_path: Path) -> list[str]:
    """Three recoveries of 40s, 50s and 90s (the last over the 1m RTO); run ids oldest first."""
    return [_drill(runtime, tmp_path, delay) for delay in ("40s", "50s", "90s")]


def test_history_lists_runs_newest_first_with_the_rto_margin_and_the_trend(
    runtime: Runtime, three: list[str]
) -> None:
    code, out = run_drkit_on(runtime, "history")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[:3]] == three[::-1]
    assert "recover over-rto  1m30s  RTO 1m00s, over by 30s" in lines[0]
    assert "recover succeeded  40s  RTO 1m00s, under by 20s" in lines[2]
    assert "nightly (recover): last 3: 40s 50s 1m30s; median 50s; latest slower by 45s (+100%)" in out


def test_history_json_has_the_runs_and_the_trend(runtime: Runtime, three: list[str]) -> None:
    code, out = run_drkit_on(runtime, "history", "--limit", "2", "-o", "json")
    assert code == 0
    document = json.loads(out)
    assert [r["runId"] for r in document["runs"]] == three[:0:-1]
    newest = document["runs"][0]
    assert (newest["outcome"], newest["timeToRecovery"], newest["rto"], newest["overRtoBy"]) == (
        "over-rto",
        90.0,
        60.0,
        30.0,
    )
    [trend] = document["trends"]
    assert trend["timesToRecovery"] == [40.0, 50.0, 90.0]
    assert (trend["median"], trend["latestChange"], trend["latestChangeRatio"]) == (50.0, 45.0, 1.0)


def test_compare_shows_phase_and_step_deltas_and_marks_steps_in_one_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    a = _drill(runtime, tmp_path, "90s")
    b = _drill(runtime, tmp_path, "30s", EXTRA_STEP)

    code, out = run_drkit_on(runtime, "history", "--compare", a, b)
    assert code == 0
    assert f"A {a}  nightly  over-rto  1m30s" in out
    assert f"B {b}  nightly  succeeded  30s" in out
    assert "time to recovery: -1m00s" in out
    assert "  restore: 1m30s succeeded -> 30s succeeded  -1m00s" in out
    assert "  restore/gate: 1m30s succeeded -> 30s succeeded  -1m00s" in out
    assert "  verify/probe: (not in this run) -> 0s succeeded\n" in out

    code, out = run_drkit_on(runtime, "history", "--compare", a, b, "-o", "json")
    document = json.loads(out)
    assert (document["a"]["outcome"], document["b"]["outcome"], document["delta"]) == (
        "over-rto",
        "succeeded",
        -60,
    )
    assert document["steps"][1] == {
        "name": "verify/probe",
        "a": None,
        "b": {"status": "succeeded", "duration": 0.0},
        "delta": None,
    }


def test_compare_of_an_unknown_run_is_a_usage_error_with_a_suggestion(
    runtime: Runtime, tmp_path: Path
) -> None:
    known = _drill(runtime, tmp_path, "1s")
    typo = known[:-1] + ("0" if known[-1] != "0" else "1")

    code, _ = run_drkit_on(runtime, "history", "--compare", known, typo)

    assert code == ExitCode.USAGE
    assert f"did you mean '{known}'?" in runtime.stderr.getvalue()  # type: ignore[attr-defined]


def test_history_without_runs_says_so(runtime: Runtime) -> None:
    code, out = run_drkit_on(runtime, "history")
    assert (code, out) == (0, f"no finished runs recorded under {runtime.state_dir}\n")


def test_a_playbook_the_history_does_not_hold_is_a_usage_error_with_the_nearest_name(
    runtime: Runtime, tmp_path: Path
) -> None:
    _drill(runtime, tmp_path, "40s")
    code, out = run_drkit_on(runtime, "history", "--playbook", "nighty")
    assert code == ExitCode.USAGE
    assert out == ""
    errors = runtime.stderr.getvalue()  # type: ignore[attr-defined]
    assert "no runs of playbook 'nighty' in the history" in errors
    assert "did you mean 'nightly'?" in errors
    code, out = run_drkit_on(runtime, "history", "--playbook", "nightly")
    assert code == 0
    assert "nightly" in out


def test_chart_draws_the_runs_into_a_png(runtime: Runtime, three: list[str], tmp_path: Path) -> None:
    code, _ = run_drkit_on(runtime, "history", "--chart", "ttr.png")
    assert code == 0
    assert "chart of 3 run(s) of 1 playbook(s) written to ttr.png" in runtime.stderr.getvalue()  # type: ignore[attr-defined]
    data = (tmp_path / "ttr.png").read_bytes()
    width, height = png_size(data)
    assert width > 400
    assert height > 200
    assert len(data) > 10_000  # lines, points and labels, not a blank canvas


def test_chart_without_matplotlib_is_a_usage_error_naming_the_extra(
    runtime: Runtime, three: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import raises ImportError
    code, _ = run_drkit_on(runtime, "history", "--chart", "ttr.png")
    assert code == ExitCode.USAGE
    errors = runtime.stderr.getvalue()  # type: ignore[attr-defined]
    assert "drkit history --chart needs matplotlib, which is not installed" in errors
    assert "pip install 'drkit[charts]'" in errors
    assert not (tmp_path / "ttr.png").exists()


def test_each_runs_report_html_charts_the_runs_before_it(runtime: Runtime, three: list[str]) -> None:
    page = (run_dir(runtime.state_dir, three[-1]) / "report.html").read_text(encoding="utf-8")
    chart = page.split('<svg id="ttr-chart"')[1].split("</svg>")[0]
    assert re.findall(r'data-run="([^"]+)" data-seconds="([^"]+)"', chart) == [
        (three[0], "40"),
        (three[1], "50"),
        (three[2], "90"),
    ]
    assert 'id="ttr-rto" data-seconds="60"' in chart
    current = re.findall(r'<circle class="ttr-point ([^"]+)" data-run="([^"]+)"', chart)[-1]
    assert current == ("recovered current", three[2])  # over the RTO, but it recovered
