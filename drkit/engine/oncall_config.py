"""The on-call configuration file: which kubeconfig contexts `drkit finalizers clear` may change.

A playbook names its clusters in `target.contexts`; the on-call commands have no playbook, so the same
allow-list lives in a small file an SRE (or the team's dotfiles) writes once:

    # ~/.config/drkit/config.yaml
    contexts: [staging, prod-eu]

It is found at `$DRKIT_CONFIG` if set, else `$DRKIT_HOME/config.yaml` if DRKIT_HOME is set, else
`$XDG_CONFIG_HOME/drkit/config.yaml` (`~/.config/drkit/config.yaml`). A missing file is an empty list; a
broken one is a usage error pointing at its line and column (exit 2), read with the same hostile-input
limits as a playbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from drkit.errors import PlaybookError
from drkit.playbook.problems import Problem
from drkit.playbook.source import Position
from drkit.playbook.suggest import did_you_mean
from drkit.playbook.yaml_input import YamlInputError, YamlLimits, compose, read_limited

CONFIG_FILE = "config.yaml"
KNOWN_KEYS = ("contexts",)
_LIMITS = YamlLimits("config", max_bytes=64 * 1024, max_depth=16, max_nodes=10_000)


@dataclass(frozen=True)
class OncallConfig:
    path: Path  # where the file is (or would be)
    exists: bool
    contexts: tuple[str, ...] = ()  # the contexts the on-call commands may write to


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("DRKIT_CONFIG"):
        return Path(env["DRKIT_CONFIG"]).expanduser()
    if env.get("DRKIT_HOME"):
        return Path(env["DRKIT_HOME"]) / CONFIG_FILE
    base = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"]) / ".config") if env.get("HOME") else "")
    return Path(base or ".config") / "drkit" / CONFIG_FILE


def load_oncall_config(env: Mapping[str, str]) -> OncallConfig:
    path = config_path(env)
    try:
        text = read_limited(path, _LIMITS, allow_pipe=False)
    except FileNotFoundError:
        return OncallConfig(path, exists=False)
    except OSError as error:
        raise _problem(path, "", (0, 0), f"cannot read the drkit config: {error.strerror or error}") from None
    except YamlInputError as error:
        raise _problem(path, "", (error.line, error.column), error.message, error.hint) from None
    try:
        node, tags = compose(text, _LIMITS)
    except YamlInputError as error:
        raise _problem(path, text, (error.line, error.column), error.message, error.hint) from None
    if tags:
        raise _problem(path, text, (tags[0].line, tags[0].column), f"unsupported YAML tag '{tags[0].tag}'")
    return OncallConfig(path, exists=True, contexts=_contexts(path, text, node))


def _contexts(path: Path, text: str, node: Node | None) -> tuple[str, ...]:
    if node is None or (isinstance(node, ScalarNode) and str(node.tag).endswith("null")):
        return ()
    if not isinstance(node, MappingNode):
        raise _at(path, text, node, "the drkit config must be a mapping (for example `contexts: [prod]`)")
    contexts: tuple[str, ...] = ()
    for key, value in node.value:
        name = str(key.value)
        if name not in KNOWN_KEYS:
            hint = did_you_mean(name, KNOWN_KEYS) or f"known keys: {', '.join(KNOWN_KEYS)}"
            raise _at(path, text, key, f"unknown key {name!r} in the drkit config", hint)
        if not isinstance(value, SequenceNode):
            raise _at(path, text, value, "`contexts` must be a list of kubeconfig context names")
        for item in value.value:
            if (
                not isinstance(item, ScalarNode)
                or not str(item.value).strip()
                or str(item.tag).endswith("null")
            ):
                raise _at(path, text, item, "each entry of `contexts` must be a kubeconfig context name")
            contexts += (str(item.value),)
    return tuple(dict.fromkeys(contexts))


def _at(path: Path, text: str, node: Node, message: str, hint: str | None = None) -> PlaybookError:
    mark = node.start_mark
    return _problem(path, text, (mark.line + 1, mark.column + 1), message, hint)


def _problem(
    path: Path, text: str, where: tuple[int, int], message: str, hint: str | None = None
) -> PlaybookError:
    line, column = where
    lines = text.splitlines()
    shown = lines[line - 1] if 0 < line <= len(lines) else ""
    problem = Problem(Position(str(path), line, column), message, hint, shown)
    return PlaybookError(f"{problem.position}: {message}", (problem,), hint=hint)
