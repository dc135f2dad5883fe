"""Fixtures of the kube adapter tests: a lab API server per test and a Cluster pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_lab import Lab, RecordingSleep, load_crd, running_lab

from drkit.kube import Cluster, ClusterConfig, RetryNotice, RetryPolicy
from drkit_lab.apiserver.store import Store


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with running_lab(tmp_path, Store()) as started:
        yield started


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep([])


@pytest.fixture
def retries() -> list[RetryNotice]:
    return []


@pytest.fixture
def cluster(
    lab: Lab, tmp_path: Path, sleeps: RecordingSleep, retries: list[RetryNotice]
) -> Iterator[Cluster]:
    config = ClusterConfig.from_env({"KUBECONFIG": str(lab.kubeconfig)})
    with Cluster(
        config,
        sleep=sleeps,
        retry=RetryPolicy(attempts=8, base_delay=0.01, max_delay=0.05),
        on_retry=retries.append,
    ) as c:
        yield c


@pytest.fixture
def with_model_crd(cluster: Cluster) -> Cluster:
    cluster.apply(load_crd("seldon-models.yaml"))
    cluster.invalidate_discovery()
    return cluster
