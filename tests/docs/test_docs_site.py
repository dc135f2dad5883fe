"""The docs site builds with `mkdocs build --strict` (a broken link or anchor between pages fails it), and the
pages generated from code are what the code generates now."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT, run_drkit

from drkit.errors import ExitCode

DOCS = REPO_ROOT / "docs"
REGENERATE = "is out of date with the code: run `make docs` and commit the result"


def _nav_pages(entries: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [str(value)]
    return pages


def test_the_site_builds_strictly_with_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for page in (
        "getting-started",
        "step-kinds",
        "report-schema",
        "exit-codes",
        "scheduled-drills",
        "oncall",
    ):
        assert (site / page / "index.html").is_file(), page
    assert (site / "report.schema.json").is_file()  # published beside the page that documents it


def test_the_nav_names_every_page_in_docs() -> None:
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert sorted(_nav_pages(config["nav"])) == sorted(p.name for p in DOCS.glob("*.md"))


@pytest.mark.parametrize(
    ("page", "args"),
    [("exit-codes.md", ("--of", "exit-codes")), ("step-kinds.md", ("--of", "step-kinds"))],
)
def test_committed_generated_page_is_what_the_code_generates(
    tmp_path: Path, page: str, args: tuple[str, ...]
) -> None:
    result = run_drkit("schema", *args, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (DOCS / page).read_text(encoding="utf-8") == result.stdout, f"docs/{page} {REGENERATE}"


def test_the_exit_code_page_has_a_row_for_every_code() -> None:
    page = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {code.value} | `{code.name}` |" in page


def test_a_page_with_no_json_form_is_a_usage_error(tmp_path: Path) -> None:
    result = run_drkit("schema", "--of", "exit-codes", "-o", "json", cwd=tmp_path)
    assert result.exit_code == ExitCode.USAGE
    assert result.json["error"]["message"] == "drkit schema --of exit-codes has no json form"
