"""Build the real control plane (etcd, kube-apiserver, kube-controller-manager) from Go sources, once.

No registry serves these binaries, but the Go module proxy serves their sources. The pinned modules under
`gomod/` (shipped inside the package, so an installed lab can build too) are copied into the cache and
built there; the binaries are kept in a directory named after the pins and the Go version, so a change of
either builds anew and anything else reuses what is there. A cold build takes minutes on two cores (see
docs/lab.md); Go's own caches (GOMODCACHE, GOCACHE) live outside the work tree and make a rebuild cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from drkit_lab.errors import LabError, LabUsageError

KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.3"
MIN_GO = (1, 26)
CACHE_ENV = "DRKIT_CONTROLPLANE_CACHE"

Progress = Callable[[str], None]

_KUBE_PACKAGES = ("k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager")
_ETCD_PACKAGE = "go.etcd.io/etcd/server/v3"
_PROGRESS_EVERY_S = 15.0


@dataclass(frozen=True)
class Binaries:
    """The built control plane: where each program is and which versions they are."""

    directory: Path
    kubernetes_version: str = KUBERNETES_VERSION
    etcd_version: str = ETCD_VERSION

    @property
    def etcd(self) -> Path:
        return self.directory / "etcd"

    @property
    def kube_apiserver(self) -> Path:
        return self.directory / "kube-apiserver"

    @property
    def kube_controller_manager(self) -> Path:
        return self.directory / "kube-controller-manager"

    def complete(self) -> bool:
        programs = (self.etcd, self.kube_apiserver, self.kube_controller_manager)
        return all(p.is_file() and os.access(p, os.X_OK) for p in programs)


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ if env is None else env)
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "drkit" / "controlplane"


def _module_files() -> dict[str, bytes]:
    root = resources.files("drkit_lab.controlplane") / "gomod"
    return {
        f"{module}/{name}": (root / module / name).read_bytes()
        for module in ("kube", "etcd")
        for name in ("go.mod", "go.sum")
    }


def go_version(go: str) -> str:
    """`go1.26.8` from `go env GOVERSION`; raises a usage error when Go is missing or too old."""
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise LabUsageError(
            f"the real control plane is built with Go, and `{go} env GOVERSION` failed: {exc}",
            hint=f"install Go {MIN_GO[0]}.{MIN_GO[1]} or later, or use --control-plane emulated",
        ) from None
    match = re.match(r"go(\d+)\.(\d+)", out)
    if match is None or (int(match[1]), int(match[2])) < MIN_GO:
        raise LabUsageError(
            f"the real control plane needs Go {MIN_GO[0]}.{MIN_GO[1]} or later; `{go}` is {out or 'unknown'}",
            hint="install a newer Go, or use --control-plane emulated",
        )
    return out


def binaries_dir(go_release: str, root: Path | None = None) -> Path:
    """The cache directory for these pins built with this Go (its name changes when either does)."""
    digest = hashlib.sha256(go_release.encode())
    for name, content in sorted(_module_files().items()):
        digest.update(name.encode() + b"\0" + content)
    return (root or cache_root()) / f"k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}-{digest.hexdigest()[:12]}"


def find_built(go: str = "go", root: Path | None = None) -> Binaries | None:
    """The binaries if they are built for the current pins and Go, else None (nothing is built)."""
    found = Binaries(binaries_dir(go_version(go), root) / "bin")
    return found if found.complete() else None


def ensure_built(*, go: str = "go", root: Path | None = None, progress: Progress | None = None) -> Binaries:
    """Build the control plane unless the cache holds it for these pins; return where the programs are."""
    say = progress or (lambda line: None)
    release = go_version(go)
    home = binaries_dir(release, root)
    built = Binaries(home / "bin")
    if built.complete():
        say(f"control plane {KUBERNETES_VERSION} (etcd {ETCD_VERSION}) is built: {built.directory}")
        return built
    home.mkdir(parents=True, exist_ok=True)
    say(f"building the control plane {KUBERNETES_VERSION} and etcd {ETCD_VERSION} with {release} into {home}")
    say("a cold build takes about 8-10 minutes on 2 cores; later starts reuse it")
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=home))
    try:
        for name, content in _module_files().items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_bytes(content)
        out = staging / "bin"
        out.mkdir()
        timings = {
            "kube": _go_build(
                go, staging / "kube", _KUBE_PACKAGES, out=out, ldflags=_kube_ldflags(), say=say
            ),
            "etcd": _go_build(go, staging / "etcd", (_ETCD_PACKAGE,), out=out, ldflags="-s -w", say=say),
        }
        (out / "server").rename(out / "etcd")  # `go build` names a module-root binary after its last element
        record = {
            "kubernetes": KUBERNETES_VERSION,
            "etcd": ETCD_VERSION,
            "go": release,
            "seconds": timings,
            "built_at": time.time(),
        }
        (out / "build.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if built.directory.exists():
            shutil.rmtree(built.directory)
        out.rename(built.directory)  # atomic: a half-built directory is never taken for a build
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say(f"control plane built in {sum(timings.values()):.0f} s: {built.directory}")
    return built


def build_record(binaries: Binaries) -> dict[str, object]:
    path = binaries.directory / "build.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _kube_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _go_build(
    go: str, module: Path, packages: tuple[str, ...], *, out: Path, ldflags: str, say: Progress
) -> float:
    """`go build -v` in `module`, relaying how many packages are compiled every few seconds."""
    flags = " ".join(f for f in (os.environ.get("GOFLAGS", ""), "-mod=readonly") if f)
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": flags}
    argv = [go, "build", "-v", "-trimpath", "-ldflags", ldflags, "-o", f"{out}/", *packages]
    started = time.monotonic()
    last_report = started
    compiled = 0
    tail: list[str] = []
    with subprocess.Popen(
        argv, cwd=module, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            compiled += 1
            tail = [*tail[-19:], line.rstrip()]
            now = time.monotonic()
            if now - last_report >= _PROGRESS_EVERY_S:
                last_report = now
                say(f"  {module.name}: {compiled} packages compiled ({now - started:.0f} s)")
        code = proc.wait()
    if code != 0:
        raise LabError(
            f"building {', '.join(p.rsplit('/', 1)[-1] for p in packages)} failed (go build exit {code}):\n"
            + "\n".join(tail),
            hint="the Go module proxy must be reachable; see docs/lab.md, 'The real control plane'",
        )
    seconds = time.monotonic() - started
    say(f"  {module.name}: built in {seconds:.0f} s")
    return seconds
