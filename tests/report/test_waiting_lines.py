"""Waiting lines: off a terminal, a long step prints what it waits for 5 s, 10 s, 20 s and 40 s into it, then
every minute (driven by the Runtime clock, here a fake one); on a terminal the live view shows every line
of the step's progress."""

from __future__ import annotations

import io
import threading

from helpers import FakeClock

from drkit.report.console import LiveListener, PlainListener, make_console
from drkit.report.model import Outcome, PhaseReport, RunReport, StepReport, StepState
from drkit.report.waiting import Heartbeat, line_due_at
from drkit.run_mode import RunMode

WAITING = "0/1 ready; Server seldon-mesh/mlserver: Ready=False (Reconciling)"
STEP = StepReport("deploy", 1, "serving", "wait", StepState.PENDING)


def _listener(clock: FakeClock) -> tuple[PlainListener, io.StringIO]:
    stream = io.StringIO()
    return PlainListener(make_console(stream, terminal=False), monotonic=clock.monotonic), stream


def _waiting_lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.startswith("  … ")]


def test_the_schedule_grows_then_settles_to_a_minute() -> None:
    assert [line_due_at(n) for n in range(7)] == [5.0, 10.0, 20.0, 40.0, 100.0, 160.0, 220.0]


def test_a_silent_wait_prints_what_it_waits_for_at_growing_intervals() -> None:
    clock = FakeClock()
    listener, stream = _listener(clock)
    listener.step_started(STEP)
    clock.advance(1.0)
    listener.step_progress(WAITING)  # the one change a wait on a stuck Server ever reports
    printed_at: list[float] = []
    for _ in range(170):  # what the heartbeat does, once a (fake) second
        clock.advance(1.0)
        before = len(_waiting_lines(stream))
        listener.tick()
        if len(_waiting_lines(stream)) > before:
            printed_at.append(clock.now - 1000.0)
    assert printed_at == [5.0, 10.0, 20.0, 40.0, 100.0, 160.0]
    first = _waiting_lines(stream)[0]
    assert first == f"  … deploy/serving waiting 5s: {WAITING}"


def test_a_long_silence_is_one_line_and_the_schedule_goes_on_from_there() -> None:
    clock = FakeClock()
    listener, stream = _listener(clock)
    listener.step_started(STEP)
    listener.step_progress(WAITING)
    clock.advance(130.0)  # the heartbeat could not run (a blocked console): slots 5 s ... 100 s were missed
    listener.tick()
    listener.tick()
    assert len(_waiting_lines(stream)) == 1
    clock.advance(29.0)
    listener.tick()
    assert len(_waiting_lines(stream)) == 1  # the next slot is 160 s
    clock.advance(1.0)
    listener.tick()
    assert len(_waiting_lines(stream)) == 2


def test_every_awaited_object_gets_a_line_and_a_finished_step_none() -> None:
    clock = FakeClock()
    listener, stream = _listener(clock)
    listener.step_started(STEP)
    clock.advance(6.0)
    listener.step_progress("1/3 ready; Model ml/a: Ready=False (ModelLoading)\nModel ml/b: not found")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "  … deploy/serving waiting 6s: 1/3 ready; Model ml/a: Ready=False (ModelLoading)",
        "      Model ml/b: not found",
    ]
    listener.step_finished(StepReport("deploy", 1, "serving", "wait", StepState.SUCCEEDED, duration=7.0))
    clock.advance(60.0)
    listener.tick()
    assert stream.getvalue().splitlines()[2:] == ["  ✔ deploy/serving  7s"]


def test_a_step_that_says_nothing_prints_no_waiting_line() -> None:
    clock = FakeClock()
    listener, stream = _listener(clock)
    listener.step_started(STEP)
    clock.advance(30.0)
    listener.tick()
    assert stream.getvalue() == ""


def test_the_heartbeat_beats_until_stopped() -> None:
    beats = threading.Semaphore(0)
    heartbeat = Heartbeat(beats.release, period=0.01)
    try:
        assert beats.acquire(timeout=10)  # it beats,
        assert beats.acquire(timeout=10)  # and again
    finally:
        heartbeat.stop()
    while beats.acquire(blocking=False):  # drain what came before the stop
        pass
    heartbeat.stop()  # idempotent
    assert not beats.acquire(blocking=False)  # joined: the thread is gone


def test_the_live_view_shows_each_awaited_object() -> None:
    clock = FakeClock()
    listener = LiveListener(make_console(io.StringIO(), terminal=False), clock.monotonic)
    running = RunReport(
        run_id="r", playbook_name="p", playbook_path="p.yaml", mode=RunMode.DRILL, outcome=Outcome.RUNNING,
        phases=(PhaseReport("deploy", (STEP,)),),
    )  # fmt: skip
    listener.run_started(running)
    try:
        listener.step_started(STEP)
        listener.step_progress("1/3 ready; Model ml/a: Ready=False (ModelLoading)\nModel ml/b: not found")
        console = make_console(io.StringIO(), terminal=False)
        with console.capture() as capture:
            console.print(listener.render())
    finally:
        listener.run_finished(running)
    text = capture.get()
    assert "1/3 ready; Model ml/a: Ready=False (ModelLoading)" in text
    assert "Model ml/b: not found" in text
