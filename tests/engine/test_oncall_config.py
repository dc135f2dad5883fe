"""The on-call config file (`contexts:` that `drkit finalizers clear` may change): where it is found, what it
may say, and broken files reported at their line and column as a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.engine.oncall_config import config_path, load_oncall_config
from drkit.errors import ExitCode, PlaybookError
from drkit.playbook.problems import Problem, render_problems


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DRKIT_CONFIG": "/etc/drkit.yaml", "DRKIT_HOME": "/h", "HOME": "/home/u"}, "/etc/drkit.yaml"),
        ({"DRKIT_HOME": "/h", "XDG_CONFIG_HOME": "/x", "HOME": "/home/u"}, "/h/config.yaml"),
        ({"XDG_CONFIG_HOME": "/x", "HOME": "/home/u"}, "/x/drkit/config.yaml"),
        ({"HOME": "/home/u"}, "/home/u/.config/drkit/config.yaml"),
    ],
)
def test_where_the_config_is_found(env: dict[str, str], expected: str) -> None:
    assert config_path(env) == Path(expected)


def _load(tmp_path: Path, text: str) -> tuple[str, ...]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_oncall_config({"DRKIT_CONFIG": str(path)}).contexts


def test_contexts_are_read_once_each(tmp_path: Path) -> None:
    assert _load(tmp_path, "contexts: [staging, prod-eu, staging]\n") == ("staging", "prod-eu")


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "~\n", "contexts: []\n"])
def test_an_empty_config_allows_nothing_in_particular(tmp_path: Path, text: str) -> None:
    assert _load(tmp_path, text) == ()


def test_a_missing_config_is_an_empty_one(tmp_path: Path) -> None:
    config = load_oncall_config({"DRKIT_CONFIG": str(tmp_path / "absent.yaml")})
    assert (config.exists, config.contexts) == (False, ())


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (
            "contxts: [prod]\n",
            ":1:1:",
            "unknown key 'contxts' in the drkit config",
            "did you mean 'contexts'?",
        ),
        ("contexts: prod\n", ":1:11:", "`contexts` must be a list of kubeconfig context names", None),
        (
            "contexts:\n  - prod\n  - ~\n",
            ":3:5:",
            "each entry of `contexts` must be a kubeconfig context",
            None,
        ),
        ("- prod\n", ":1:1:", "the drkit config must be a mapping", None),
        ("contexts: [!!python/object:os.system prod]\n", ":1:12:", "unsupported YAML tag", None),
        ("contexts: [prod\n", ":1:11:", "is never closed", "close it with ']'"),
    ],
)
def test_a_broken_config_is_a_located_usage_error(
    tmp_path: Path, text: str, where: str, message: str, hint: str | None
) -> None:
    with pytest.raises(PlaybookError) as error:
        _load(tmp_path, text)

    assert error.value.exit_code is ExitCode.USAGE
    shown = render_problems([p for p in error.value.problems if isinstance(p, Problem)])
    assert f"config.yaml{where} error: " in shown
    assert message in shown
    if hint is not None:
        assert f"hint: {hint}" in shown
