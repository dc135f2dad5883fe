"""`drkit examples`: the example playbooks shipped inside the package, listed or copied out.

They are package data under drkit/examples, laid out as in the repository (`playbooks/`, `manifests/`,
`docs/playbook.schema.json`), so the paths the playbooks use (`vars.manifests: ../manifests/...`,
`$schema=../docs/playbook.schema.json`, `requests/*.json`) resolve in the package and in a copy alike. In a
checkout the directories are symlinks to the repository's own (one copy, which the tests run); the wheel build
copies the files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from drkit.errors import UsageError
from drkit.playbook.loader import load_playbook
from drkit.steps.registry import probe_schemas, step_schemas

EXAMPLES_ROOT = Path(__file__).resolve().parent.parent / "examples"
PLAYBOOKS = EXAMPLES_ROOT / "playbooks"


@dataclass(frozen=True)
class Example:
    name: str  # the file's stem: financial-mlops-recover
    path: Path  # the shipped file (valid as it is: `drkit validate PATH`)
    summary: str  # its metadata.description


@dataclass(frozen=True)
class CopiedExamples:
    directory: Path
    playbooks: tuple[Path, ...]


def list_examples() -> list[Example]:
    """Every shipped playbook, loaded as `drkit validate` loads it (so a listed example is a valid one)."""
    examples = []
    for path in sorted(PLAYBOOKS.glob("*.yaml")):
        playbook = load_playbook(path, step_kinds=step_schemas(), check_kinds=probe_schemas())
        examples.append(Example(name=path.stem, path=path, summary=playbook.description))
    return examples


def _not_shipped(directory: str, names: list[str]) -> set[str]:
    """What running an example in a checkout leaves beside it (`.drkit/`, backups, caches)."""
    return {n for n in names if n.startswith(".") or n == "__pycache__"}


def copy_examples(destination: Path, *, cwd: Path, force: bool = False) -> CopiedExamples:
    """Copy the examples into `destination` (created); refuses a non-empty one unless `force`, which
    overwrites the files of the same name and leaves the others."""
    target = destination if destination.is_absolute() else cwd / destination
    if target.exists() and not target.is_dir():
        raise UsageError(f"{destination} is a file", hint="give a directory to copy the examples into")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(
            f"{destination} is not empty", hint="give a new directory, or --force to copy over its files"
        )
    shutil.copytree(EXAMPLES_ROOT, target, ignore=_not_shipped, dirs_exist_ok=True)
    return CopiedExamples(
        directory=target, playbooks=tuple(target / "playbooks" / e.path.name for e in list_examples())
    )
