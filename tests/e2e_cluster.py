"""The cluster an end-to-end test runs against: a fresh private lab, or a real cluster the environment names.

drkit never special-cases the lab, so its end-to-end tests should not either: they get an `E2ECluster` (the
`e2e_cluster` fixture of tests/conftest.py) and reach it only through its kubeconfig and context. With
`DRKIT_E2E_KUBECONFIG=/path` (and optionally `DRKIT_E2E_CONTEXT=name`) in the environment the cluster is that
one; otherwise each test gets a fresh lab. Tests that need powers only the lab has (stopping a controller,
proving "zero writes" with its request log, its simulated images and model stores) are marked
`@pytest.mark.lab_only` and skipped on a real cluster; they reach the lab through `E2ECluster.lab`.

Every test gets a unique namespace prefix (`e2e-<hex>-`), so tests sharing a real cluster do not collide;
namespaces named with it are deleted when the test ends.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from lab_helpers import LabHandle

from drkit.errors import DrkitError
from drkit.kube import Cluster, ClusterConfig
from drkit.kube.config import current_context

ENV_KUBECONFIG = "DRKIT_E2E_KUBECONFIG"
ENV_CONTROL_PLANE = "DRKIT_LAB_CONTROL_PLANE"
ENV_CONTEXT = "DRKIT_E2E_CONTEXT"
REAL_PLANE_MARK = "real_plane"
Plane = Literal["emulated", "real"]
LAB_CONTEXT = "drkit-lab"
PREFIX_ROOT = "e2e-"
LAB_ONLY_REASON = (
    f"lab_only: needs the built-in lab (controller outages, its request log, simulated images); "
    f"{ENV_KUBECONFIG} points the end-to-end tests at a real cluster"
)


def lab_control_plane(
    node: pytest.Item | pytest.Collector | None = None, env: Mapping[str, str] = os.environ
) -> Plane:
    """The control plane the labs of a test (or module) run on.

    By default a test marked `real_plane` (the end-to-end tests: what drkit does to a cluster) gets the real
    one, etcd, kube-apiserver and kube-controller-manager (`make controlplane` builds them), and every other
    test the emulated one, which starts in a second. DRKIT_LAB_CONTROL_PLANE=real or =emulated puts every lab
    on that plane instead."""
    value = env.get(ENV_CONTROL_PLANE, "").strip()
    if value == "real":
        return "real"
    if value == "emulated":
        return "emulated"
    if value:
        raise pytest.UsageError(f"{ENV_CONTROL_PLANE}={value}: use emulated or real, or leave it unset")
    marked = node is not None and node.get_closest_marker(REAL_PLANE_MARK) is not None
    return "real" if marked else "emulated"


@dataclass(frozen=True)
class ExternalCluster:
    """A cluster the tests did not start: reached through this kubeconfig and context."""

    kubeconfig: Path
    context: str


def external_cluster(env: Mapping[str, str] = os.environ) -> ExternalCluster | None:
    """The cluster named by DRKIT_E2E_KUBECONFIG / DRKIT_E2E_CONTEXT, or None to use labs."""
    path = env.get(ENV_KUBECONFIG, "").strip()
    if not path:
        return None
    kubeconfig = Path(path).expanduser().resolve()
    if not kubeconfig.is_file():
        raise pytest.UsageError(f"{ENV_KUBECONFIG}={path}: no such file; point it at a kubeconfig")
    config = ClusterConfig.from_env(
        {}, kubeconfig=kubeconfig, context=env.get(ENV_CONTEXT, "").strip() or None
    )
    try:
        context = current_context(config)  # drkit's own rule, checked to exist in the kubeconfig
    except DrkitError as error:
        raise pytest.UsageError(f"{ENV_KUBECONFIG}={path}: {error}") from error
    return ExternalCluster(kubeconfig, context)


def new_prefix() -> str:
    """`e2e-<6 hex>-`: short enough that `prefix + financial-inference` stays a valid namespace name."""
    return f"{PREFIX_ROOT}{secrets.token_hex(3)}-"


@dataclass(frozen=True)
class E2ECluster:
    """What an end-to-end test may know about its cluster."""

    kubeconfig: Path
    context: str
    prefix: str  # unique per test: name namespaces with `namespace()` so they are cleaned up
    handle: LabHandle | None  # the private lab, or None on a real cluster

    @property
    def is_lab(self) -> bool:
        return self.handle is not None

    @property
    def lab(self) -> LabHandle:
        """The lab behind this cluster; only for tests marked `lab_only` (they are skipped elsewhere)."""
        if self.handle is None:
            pytest.fail("a lab-only helper ran against a real cluster: mark the test @pytest.mark.lab_only")
        return self.handle

    def namespace(self, name: str) -> str:
        """This test's own namespace called `name`."""
        return f"{self.prefix}{name}"

    def open(self) -> Cluster:
        """drkit's own client for this cluster (use it as a context manager)."""
        config = ClusterConfig.from_env({}, kubeconfig=self.kubeconfig, context=self.context)
        return Cluster(config)

    def cli_args(self) -> tuple[str, ...]:
        """The options that point a `drkit` command at this cluster."""
        return ("--kubeconfig", str(self.kubeconfig), "--context", self.context)
