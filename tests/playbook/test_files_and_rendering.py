"""Loading from real files (paths appear in positions) and the compiler-style rendering of problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from playbook_kinds import CHECK_KINDS, STEP_KINDS

from drkit.errors import ExitCode, PlaybookError
from drkit.playbook.loader import load_playbook
from drkit.playbook.problems import Problem, render_problems
from drkit.playbook.source import Position

HERE = Path(__file__).parent


def load_file(path: Path):  # type: ignore[no-untyped-def]
    return load_playbook(path, step_kinds=STEP_KINDS, check_kinds=CHECK_KINDS)


def test_good_file_loads_with_its_path() -> None:
    playbook = load_file(HERE / "good.yaml")
    assert playbook.path == HERE / "good.yaml"
    assert playbook.base_dir == HERE
    assert playbook.phases[0].steps[0].body == {"run": "echo baseline", "expectExit": 0}
    assert playbook.phases[0].steps[0].position == Position(str(HERE / "good.yaml"), 9, 9)


def test_problem_in_a_file_is_rendered_with_the_file_path() -> None:
    path = HERE / "malformed" / "unknown_key.yaml"
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    assert caught.value.exit_code == ExitCode.USAGE
    assert render_problems(caught.value.problems) == (  # type: ignore[arg-type]
        f"{path}:7:5: error: unknown key 'budgt' in phase 'teardown'\n"
        "  7 |     budgt: 5m\n"
        "    |     ^\n"
        "hint: did you mean 'budget'?"
    )


def test_missing_file_is_a_playbook_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="cannot read playbook") as caught:
        load_file(tmp_path / "absent.yaml")
    (problem,) = caught.value.problems
    assert problem.position.file == str(tmp_path / "absent.yaml")  # type: ignore[attr-defined]


def test_directory_and_binary_files_are_playbook_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PlaybookError, match="cannot read playbook: it is a directory"):
        load_file(tmp_path)
    with pytest.raises(PlaybookError, match="is UTF-16") as caught:
        load_file(binary)
    (problem,) = caught.value.problems
    assert (problem.position.line, problem.position.column) == (1, 1)  # type: ignore[attr-defined]


def test_rendering_aligns_gutters_caret_and_tabs() -> None:
    problems = [
        Problem(Position("p.yaml", 9, 3), "first", None, "\tx: 1"),
        Problem(Position("p.yaml", 12, 8), "second", "fix it", "a: b"),
        Problem(Position("<--set>", 0, 0), "--set x: the playbook has no variable 'x'", "did you mean 'y'?"),
    ]
    assert render_problems(problems).splitlines() == [
        "p.yaml:9:3: error: first",
        "   9 | \tx: 1",
        "     | \t ^",
        "p.yaml:12:8: error: second",
        "  12 | a: b",
        "     |        ^",
        "hint: fix it",
        "<--set>: error: --set x: the playbook has no variable 'x'",
        "hint: did you mean 'y'?",
    ]


def test_color_rendering_wraps_in_ansi_codes() -> None:
    text = render_problems([Problem(Position("p.yaml", 1, 1), "bad", "hint", "a")], color=True)
    assert "\x1b[1;31merror:\x1b[0m" in text
    assert "bad" in text
