"""The MLServer environment: a virtualenv of its own, built once into the cache.

MLServer 1.7.1 pins FastAPI below 0.116 and Protobuf below 7, which the lab's MLflow server has outgrown, so
MLServer cannot share the lab's environment (as in a cluster, where it is an image of its own). The model
libraries are pinned to the versions the lab trains with, so a model logged by the lab's training job loads
with the library that wrote it. The directory is named after those pins and the Python version: a change of
either builds anew, anything else reuses what is there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from drkit_lab.errors import LabError

MLSERVER_VERSION = "1.7.1"
CACHE_ENV = "DRKIT_SERVING_CACHE"
SERVING_PACKAGES = (
    f"mlserver=={MLSERVER_VERSION}",
    f"mlserver-mlflow=={MLSERVER_VERSION}",
    # uvloop 0.22 made asyncio.get_event_loop() raise without a running loop, which MLServer 1.7.1's
    # inference workers call at start: every model load then fails with "Worker process stopped unexpectedly".
    "uvloop==0.21.0",
)
# What a model logged by the lab's training job needs to load exactly as it was written.
MODEL_LIBRARIES = ("mlflow", "scikit-learn", "skops", "numpy", "scipy", "pandas", "cloudpickle")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServingEnvironment:
    """A built MLServer environment."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def mlserver(self) -> Path:
        return self.root / "bin" / "mlserver"

    def complete(self) -> bool:
        return self.mlserver.is_file() and (self.root / "serving.json").is_file()

    def record(self) -> dict[str, object]:
        try:
            data = json.loads((self.root / "serving.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "drkit" / "serving"


def requirements() -> list[str]:
    """MLServer's pins, then the model libraries at the versions installed beside the lab."""
    pins = list(SERVING_PACKAGES)
    for dist in MODEL_LIBRARIES:
        try:
            pins.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            continue
    return pins


def environment_dir(root: Path | None = None) -> Path:
    python = f"py{sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256("\n".join([python, *requirements()]).encode()).hexdigest()[:12]
    return (root or cache_root()) / f"mlserver-{MLSERVER_VERSION}-{python}-{digest}"


def find_serving(root: Path | None = None) -> ServingEnvironment | None:
    """The environment if it is built for the current pins, else None (nothing is built)."""
    found = ServingEnvironment(environment_dir(root))
    return found if found.complete() else None


def ensure_serving(*, root: Path | None = None, progress: Progress | None = None) -> ServingEnvironment:
    """Build the MLServer environment unless the cache holds it for these pins; return it."""
    say = progress or (lambda line: None)
    home = environment_dir(root)
    built = ServingEnvironment(home)
    if built.complete():
        say(f"MLServer {MLSERVER_VERSION} environment is built: {home}")
        return built
    home.parent.mkdir(parents=True, exist_ok=True)
    pins = requirements()
    say(f"building the MLServer {MLSERVER_VERSION} environment into {home}")
    say("this installs MLServer and the model libraries from PyPI, about a minute; later starts reuse it")
    # Built where it will live (a virtualenv's scripts name their directory); `serving.json`, written last,
    # is what makes it complete, so an interrupted build is removed and redone on the next call.
    shutil.rmtree(home, ignore_errors=True)
    started = time.monotonic()
    try:
        _run([sys.executable, "-m", "venv", str(home)], "creating the virtualenv")
        pip = [str(home / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _run([*pip, *pins], "installing " + " ".join(pins))
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    record = {
        "mlserver": MLSERVER_VERSION,
        "requirements": pins,
        "python": sys.version.split()[0],
        "seconds": round(time.monotonic() - started, 1),
        "built_at": time.time(),
    }
    (home / "serving.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    say(f"MLServer environment built in {time.monotonic() - started:.0f} s: {home}")
    return built


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise LabError(
            f"building the MLServer environment failed while {what} (exit {proc.returncode}):\n{tail}",
            hint="PyPI must be reachable (pip's index settings apply); see docs/lab.md, 'Serving'",
        )
