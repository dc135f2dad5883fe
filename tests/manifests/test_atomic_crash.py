"""A manifest write killed halfway (SIGKILL, a real process): every file is whole, old text or new,
and the next write (what a resumed step does) finishes the set, leaving nothing of the crashed one behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import subprocess_env

from drkit.manifests import FileChange, write_all

OLD = "apiVersion: mlops.seldon.io/v1alpha1\nkind: Model\nmetadata: {name: NAME}\nspec:\n  storageUri: s3://old\n"
NEW = OLD.replace("s3://old", "s3://mlflow-artifacts/1/models/m-" + "a" * 32 + "/artifacts") + "# rewritten\n"
FILES = ("a.yaml", "b.yaml")

# Writes both files with write_all, and SIGKILLs itself just before rename number N (1: every temporary
# file and backup is written, nothing renamed; 2: the first file renamed, the second not).
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from drkit.manifests import FileChange, write_all

    directory, crash_at, new = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    paths = [directory / "a.yaml", directory / "b.yaml"]
    changes = [FileChange(p, p.read_text(), new.replace("NAME", p.stem)) for p in paths]
    calls = []

    def replace(source, target):
        calls.append(target)
        if len(calls) == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace(source, target)

    write_all(changes, replace=replace)
    """
)


@pytest.mark.parametrize("crash_at", [1, 2], ids=["before-any-rename", "between-renames"])
def test_a_write_killed_halfway_leaves_whole_files_and_the_next_write_completes(
    tmp_path: Path, crash_at: int
) -> None:
    for name in FILES:
        (tmp_path / name).write_text(OLD.replace("NAME", name[0]))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), str(crash_at), NEW],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    texts = {name: (tmp_path / name).read_text() for name in FILES}
    for name, text in texts.items():
        assert text in (OLD.replace("NAME", name[0]), NEW.replace("NAME", name[0])), text
        assert yaml.safe_load(text)["metadata"]["name"] == name[0]
    renamed = [name for name, text in texts.items() if text.endswith("# rewritten\n")]
    assert renamed == list(FILES[: crash_at - 1])
    assert len(list(tmp_path.iterdir())) > len(FILES)  # the crash left its temporary files behind

    # The resumed step writes again from what is on disk now.
    changes = [FileChange(tmp_path / n, texts[n], NEW.replace("NAME", n[0])) for n in FILES]
    write_all(changes)
    assert all((tmp_path / n).read_text() == NEW.replace("NAME", n[0]) for n in FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)  # nothing of the crash is left
