"""Make the repository's `bench/` package importable under `.venv/bin/pytest` (what `make test` runs).

`python -m pytest` puts the working directory on sys.path, the `pytest` script does not, and bench/ is not
part of the installed drkit distribution.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
if REPO not in sys.path:
    sys.path.insert(0, REPO)
