"""Which kubeconfig and context drkit uses, decided without contacting any cluster."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drkit.kube import ClusterConfig, ConfigError, context_namespace, current_context, list_contexts
from drkit_lab.kubeconfig import render_kubeconfig, write_kubeconfig


def kubeconfig(path: Path, context: str, namespace: str = "default") -> Path:
    text = render_kubeconfig(
        server="https://10.255.0.1:6443", ca_pem=None, token="t0ken", namespace=namespace, context=context
    )
    return write_kubeconfig(path, text)


def test_kubeconfig_env_wins_over_home(tmp_path: Path) -> None:
    kubeconfig(tmp_path / "home" / ".kube" / "config", "home-ctx")
    chosen = kubeconfig(tmp_path / "env.yaml", "env-ctx", namespace="financial-inference")
    config = ClusterConfig.from_env({"KUBECONFIG": str(chosen), "HOME": str(tmp_path / "home")})
    assert config.kubeconfig == (chosen,)
    assert current_context(config) == "env-ctx"
    assert context_namespace(config) == "financial-inference"


def test_home_kubeconfig_is_the_fallback(tmp_path: Path) -> None:
    kubeconfig(tmp_path / ".kube" / "config", "home-ctx")
    assert current_context(ClusterConfig.from_env({"HOME": str(tmp_path)})) == "home-ctx"


def test_explicit_kubeconfig_and_context_override(tmp_path: Path) -> None:
    first = kubeconfig(tmp_path / "a.yaml", "prod")
    second = kubeconfig(tmp_path / "b.yaml", "drkit-lab")
    merged = ClusterConfig.from_env({"KUBECONFIG": f"{first}{os.pathsep}{second}"})
    assert merged.kubeconfig == (first, second)
    assert sorted(list_contexts(merged)) == ["drkit-lab", "prod"]
    assert current_context(merged) == "prod"  # the first file's current-context wins, as with kubectl
    override = ClusterConfig.from_env({"KUBECONFIG": f"{first}{os.pathsep}{second}"}, context="drkit-lab")
    assert current_context(override) == "drkit-lab"
    assert current_context(ClusterConfig.from_env({}, kubeconfig=second)) == "drkit-lab"


def test_relative_kubeconfig_paths_are_taken_from_the_given_working_directory(tmp_path: Path) -> None:
    chosen = kubeconfig(tmp_path / "configs" / "lab.yaml", "drkit-lab")
    explicit = ClusterConfig.from_env({}, kubeconfig="configs/lab.yaml", cwd=tmp_path)
    from_env = ClusterConfig.from_env({"KUBECONFIG": "configs/lab.yaml"}, cwd=tmp_path)
    assert explicit.kubeconfig == from_env.kubeconfig == (chosen,)
    with pytest.raises(ConfigError, match=r"kubeconfig lab.yaml \(--kubeconfig\) does not exist"):
        ClusterConfig.from_env({}, kubeconfig="lab.yaml", cwd=tmp_path)


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    config = ClusterConfig.from_env(
        {"KUBECONFIG": str(kubeconfig(tmp_path / "k", "drkit-lab"))}, context="prod"
    )
    with pytest.raises(ConfigError) as caught:
        current_context(config)
    assert f"context 'prod' is not defined in kubeconfig {tmp_path / 'k'}" in str(caught.value)
    assert "its contexts: drkit-lab" in str(caught.value)
    assert "did you mean" not in str(caught.value)  # nothing near 'prod'


def test_unknown_context_near_a_known_one_gets_a_suggestion(tmp_path: Path) -> None:
    first, second = kubeconfig(tmp_path / "a", "staging"), kubeconfig(tmp_path / "b", "drkit-lab")
    config = ClusterConfig.from_env({"KUBECONFIG": f"{first}{os.pathsep}{second}"}, context="stagin")
    with pytest.raises(ConfigError) as caught:
        current_context(config)
    assert caught.value.hint == "did you mean 'staging'? (its contexts: staging, drkit-lab)"
    assert caught.value.exit_code == 2


def test_an_explicit_kubeconfig_that_is_missing_is_an_error_even_in_a_pod(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    with pytest.raises(ConfigError) as caught:
        ClusterConfig.from_env(env, kubeconfig=tmp_path / "nope")
    assert str(caught.value).startswith(f"kubeconfig {tmp_path / 'nope'} (--kubeconfig) does not exist")
    with pytest.raises(ConfigError) as caught:
        ClusterConfig.from_env(env, kubeconfig=tmp_path)
    assert f"kubeconfig {tmp_path} (--kubeconfig) is not a file" in str(caught.value)


def test_no_kubeconfig_and_not_in_a_pod(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        ClusterConfig.from_env({"HOME": str(tmp_path)})
    assert "no kubeconfig found" in str(caught.value)


def test_in_cluster_when_running_in_a_pod(tmp_path: Path) -> None:
    config = ClusterConfig.from_env({"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.0.0.1"})
    assert config.in_cluster
    assert current_context(config) == "in-cluster"


def test_broken_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("clusters: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        current_context(ClusterConfig.from_env({"KUBECONFIG": str(broken)}))
    assert str(broken) in str(caught.value)
