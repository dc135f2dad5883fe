"""Which kubeconfig and context drkit uses, decided without contacting any cluster."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from drkit.engine.cluster import check_context_allowed
from drkit.errors import RefusedError
from drkit.kube import ClusterConfig, ConfigError, context_namespace, current_context, list_contexts
from drkit.kube.config import credential_values, load_client_configuration
from drkit.playbook.model import Playbook, Target
from drkit.playbook.source import Position
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


def _pod(tmp_path: Path, *, token: str = "pod-token-value", namespace: str = "drkit") -> ClusterConfig:
    """What a Pod without a kubeconfig sees: the service env, and the service account mounted in tmp."""
    mounted = tmp_path / "serviceaccount"
    mounted.mkdir()
    (mounted / "token").write_text(token, encoding="utf-8")
    (mounted / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (mounted / "namespace").write_text(namespace, encoding="utf-8")
    env = {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "6443"}
    return replace(ClusterConfig.from_env(env), service_account_dir=mounted)


def test_in_a_pod_the_service_account_is_loaded_from_the_runtime_env_and_its_mount(tmp_path: Path) -> None:
    config = _pod(tmp_path)
    loaded = load_client_configuration(config, tmp_path / "certs")
    assert loaded.host == "https://10.96.0.1:6443"
    assert loaded.ssl_ca_cert == str(config.service_account_dir / "ca.crt")
    assert "pod-token-value" in credential_values(loaded)  # masked wherever drkit writes
    assert context_namespace(config) == "drkit"  # objects without a namespace land in the Pod's own


def test_in_a_pod_another_context_is_an_error_not_a_silent_switch(tmp_path: Path) -> None:
    config = replace(_pod(tmp_path), context="prod")
    with pytest.raises(ConfigError) as caught:
        current_context(config)
    assert "only the Pod's service account (context 'in-cluster')" in str(caught.value)
    assert current_context(replace(config, context="in-cluster")) == "in-cluster"


def test_in_a_pod_without_a_mounted_token_the_error_says_where_it_looked(tmp_path: Path) -> None:
    config = _pod(tmp_path)
    (config.service_account_dir / "token").unlink()
    with pytest.raises(ConfigError) as caught:
        load_client_configuration(config, tmp_path / "certs")
    assert f"cannot load the Pod's service account from {config.service_account_dir}" in str(caught.value)
    assert "token file does not exist" in str(caught.value)


def test_a_playbook_runs_in_a_pod_only_when_its_target_contexts_list_in_cluster(tmp_path: Path) -> None:
    context = current_context(_pod(tmp_path))
    with pytest.raises(RefusedError) as caught:
        check_context_allowed(_playbook_for(("drkit-lab",)), context)
    assert "may not act on kubeconfig context 'in-cluster'" in str(caught.value)
    check_context_allowed(_playbook_for(("drkit-lab", "in-cluster")), context)  # listed: allowed


def _playbook_for(contexts: tuple[str, ...]) -> Playbook:
    where = Position("playbook.yaml", 1, 1)
    return Playbook("p", Path("playbook.yaml"), where, Target(contexts=contexts), {}, (), {})


def test_broken_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("clusters: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        current_context(ClusterConfig.from_env({"KUBECONFIG": str(broken)}))
    assert str(broken) in str(caught.value)
