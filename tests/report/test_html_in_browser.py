"""report.html in a real browser: Debian's Chromium in its own headless mode (`--dump-dom`, `--screenshot`)
renders the page of a failed drill with a finally step and an over-budget phase, offline.

The assertions are on what Chromium laid out, not on the markup drkit wrote: a copy of the page gets a
script that records each bar's rendered box and fill colour into the DOM before it is dumped. The screenshot
and the page are kept under build/test-artifacts/ (or $DRKIT_TEST_ARTIFACTS) for a person to look at.
`make browser` (scripts/ensure-chromium.sh) installs Chromium.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import REPO_ROOT, png_size
from report_support import drill_report

from drkit.engine.redaction import Masker
from drkit.report.history import HistoryEntry
from drkit.report.html import render_html
from drkit.report.model import RunReport, StepReport, StepState
from drkit.secret_registry import SecretRegistry
from drkit.steps.registry import STEP_RESULTS

SECRET = "s3cr3t-t0ken-value"
HINT = "the API gateway's health route needs the restored ingress first"
WINDOW = (1280, 2000)
TIMEOUT = 60  # seconds for one Chromium run
# Chromium's own background traffic (updates, sync) is turned off, and every host name resolves to nothing:
# a page that needed the network would come out incomplete, and any request shows in the net log.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
# Appended to a copy of the page only: report.html itself has no script.
MEASURE = """<script>
for (const el of document.querySelectorAll('rect.bar, #rto-line, circle.ttr-point')) {
  const box = el.getBoundingClientRect();
  el.setAttribute('data-left', box.left);
  el.setAttribute('data-width', box.width);
  el.setAttribute('data-fill', getComputedStyle(el).fill);
}
</script>"""


@dataclasses.dataclass(frozen=True)
class Element:
    tag: str
    attrs: dict[str, str]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def number(self, name: str) -> float:
        return float(self.attrs[name])


class _Dom(HTMLParser):
    """The dumped DOM's elements (with their attributes) and its text, in document order."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.texts: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())

    def select(self, tag: str, css_class: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and css_class in e.classes]

    def by_id(self, ident: str) -> Element:
        [found] = [e for e in self.elements if e.attrs.get("id") == ident]
        return found


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not on PATH: `make browser` (scripts/ensure-chromium.sh) installs it")
    return found


@pytest.fixture(scope="module")
def artifacts() -> Path:
    directory = Path(os.environ.get("DRKIT_TEST_ARTIFACTS") or REPO_ROOT / "build" / "test-artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _run_chromium(chromium: str, tmp: Path, *args: str) -> str:
    """One headless Chromium run with a profile of its own (nothing shared with another run or a person's
    browser); its stdout."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _page_requests(net_log: Path) -> list[str]:
    """The URLs the page itself asked for: requests made for the file:// site (Chromium's own background
    requests have no site and are left out)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and "site=file://" in event["params"].get("site_for_cookies", "")
    ]


def _dump(chromium: str, tmp: Path, page: Path) -> tuple[_Dom, list[str]]:
    """The rendered DOM of `page` and the URLs it requested."""
    net_log = tmp / f"{page.stem}.netlog.json"
    markup = _run_chromium(chromium, tmp, f"--log-net-log={net_log}", "--dump-dom", page.as_uri())
    return _Dom(markup), _page_requests(net_log)


def _realistic(report: RunReport) -> RunReport:
    """The conftest's failed drill (rebuild over its budget) with a hint on the failure, a finally step, and
    a secret the engine's masking took out, as it does before any report file is written."""
    failed = dataclasses.replace(
        report.phases[2].steps[0], hint=HINT, message=f"{report.phases[2].steps[0].message} (token {SECRET})"
    )
    validate = dataclasses.replace(report.phases[2], steps=(failed, report.phases[2].steps[1]))
    cleanup = StepReport(
        "finally", 1, "cleanup", "command", StepState.SUCCEEDED, f"revoked {SECRET}", duration=12.0
    )
    unmasked = dataclasses.replace(
        report, phases=(*report.phases[:2], validate), finally_steps=(cleanup,), message=f"token {SECRET}"
    )
    masked = Masker(SecretRegistry([SECRET])).data(unmasked.to_json())
    assert isinstance(masked, dict)
    return RunReport.from_json(masked, STEP_RESULTS)


def _earlier(report: RunReport) -> list[HistoryEntry]:
    """Three earlier drills, a day apart: one within the RTO, one failed, one over the RTO."""
    start, name, mode = report.started_at or 0.0, report.playbook_name, str(report.mode)
    return [
        HistoryEntry(f"run-{day}", name, "", mode, outcome, start - day * 86_400.0, seconds, report.rto)
        for day, outcome, seconds in ((3, "succeeded", 400.0), (2, "failed", 120.0), (1, "over-rto", 700.0))
    ]


@pytest.fixture(scope="module")
def rendered(
    chromium: str, artifacts: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[_Dom, list[str]]:
    tmp = tmp_path_factory.mktemp("browser")
    report = _realistic(drill_report())
    page = render_html(report, earlier=_earlier(report))
    (artifacts / "report.html").write_text(page, encoding="utf-8")
    measured = tmp / "measured.html"
    measured.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    return _dump(chromium, tmp, measured)


def test_each_step_that_ran_is_one_bar_as_wide_as_its_duration(rendered: tuple[_Dom, list[str]]) -> None:
    dom, _ = rendered
    bars = dom.select("rect", "step")
    assert [b.attrs["data-step"] for b in bars] == [
        "teardown/unstick",
        "rebuild/apply-base",
        "rebuild/train",
        "validate/check-1",
    ]  # validate/notify did not run: no bar
    durations = [7.0, 9.2, 43.0, 30.0]
    px_per_second = [b.number("data-width") / d for b, d in zip(bars, durations, strict=True)]
    assert min(px_per_second) == pytest.approx(max(px_per_second), rel=0.01)
    assert px_per_second[0] > 1  # laid out at a visible size, not collapsed
    origin = bars[0].number("data-left")  # unstick started at the run's first start
    [train] = [b for b in bars if b.attrs["data-step"] == "rebuild/train"]
    assert train.number("data-left") - origin == pytest.approx(16.2 * px_per_second[0], abs=1)


def test_the_rto_line_sits_at_the_rto_and_the_finally_step_after_the_phases(
    rendered: tuple[_Dom, list[str]],
) -> None:
    dom, _ = rendered
    bars = dom.select("rect", "step")
    origin, px_per_second = bars[0].number("data-left"), bars[0].number("data-width") / 7.0
    rto = dom.by_id("rto-line")
    assert rto.number("data-left") - origin == pytest.approx(600 * px_per_second, abs=1)
    [cleanup] = dom.select("rect", "finally")
    last = bars[-1]
    assert cleanup.number("data-left") >= last.number("data-left") + last.number("data-width") - 0.5
    assert cleanup.number("data-width") == pytest.approx(12.0 * px_per_second, rel=0.01)


def test_an_over_budget_phase_is_drawn_in_another_colour(rendered: tuple[_Dom, list[str]]) -> None:
    dom, _ = rendered
    phases = {p.attrs["data-phase"]: p for p in dom.select("rect", "phase")}
    assert "over-budget" in phases["rebuild"].classes
    assert "over-budget" not in phases["teardown"].classes
    fills = {name: p.attrs["data-fill"] for name, p in phases.items()}
    assert fills["rebuild"] != fills["teardown"]
    assert fills["teardown"].startswith("rgb(")  # the page's CSS applied


def test_the_failure_shows_its_diagnosis_and_hint_and_the_secret_nowhere(
    rendered: tuple[_Dom, list[str]],
) -> None:
    dom, _ = rendered
    assert HINT in dom.text
    assert "api: GET http://api.local/health: status 503, expected 200" in dom.text
    assert SECRET not in dom.text
    assert SECRET not in json.dumps([e.attrs for e in dom.elements])
    assert "token ****" in dom.text


def test_the_chart_plots_the_earlier_runs_and_this_one(rendered: tuple[_Dom, list[str]]) -> None:
    dom, _ = rendered
    points = dom.select("circle", "ttr-point")
    assert [p.attrs["data-run"] for p in points] == ["run-3", "run-2", "run-1", "20260101-000000-abcd"]
    lefts = [p.number("data-left") for p in points]
    assert lefts == sorted(lefts)  # oldest on the left
    assert "not-recovered" in points[1].classes


def test_the_page_is_complete_offline_and_requests_nothing(rendered: tuple[_Dom, list[str]]) -> None:
    dom, requests = rendered
    assert requests == []
    ids = {e.attrs.get("id") for e in dom.elements}
    assert {"summary", "timeline", "ttr-chart", "failures", "checklists", "steps", "finalizers"} <= ids
    links = [v for e in dom.elements for k, v in e.attrs.items() if k in ("src", "href", "xlink:href")]
    assert all(link.startswith(("#", "data:")) for link in links), links


def test_a_page_that_did_need_the_network_would_be_seen(chromium: str, tmp_path: Path) -> None:
    """The request check above can fail: the same run sees a page's request for an image elsewhere."""
    page = tmp_path / "online.html"
    page.write_text('<!DOCTYPE html><img src="https://cdn.example.org/logo.png">', encoding="utf-8")
    _, requests = _dump(chromium, tmp_path, page)
    assert requests == ["https://cdn.example.org/logo.png"]


def test_the_screenshot_is_kept_and_shows_a_page(
    chromium: str, artifacts: Path, rendered: tuple[_Dom, list[str]], tmp_path: Path
) -> None:
    shot = artifacts / "report.png"
    shot.unlink(missing_ok=True)
    _run_chromium(
        chromium,
        tmp_path,
        f"--screenshot={shot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        (artifacts / "report.html").as_uri(),
    )
    data = shot.read_bytes()
    assert png_size(data) == WINDOW
    assert len(set(_pixels(data))) > 16  # bars, text and colours, not one blank colour


def _pixels(png: bytes) -> bytes:
    """The decompressed image data (IDAT chunks) of a PNG: enough to tell a drawn page from a blank one."""
    data, at = b"", 8
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind = png[at + 4 : at + 8]
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    return zlib.decompress(data)
