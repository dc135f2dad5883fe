"""Shell completion of what drkit knows: run ids, and the phases and checklists of the playbook on the line.

Click drives the protocol (`_DRKIT_COMPLETE=bash_complete|zsh_complete|fish_complete`, see the README for
installing it); these are the `shell_complete` callbacks of the arguments and options that take such names.
A completion never fails: when the names cannot be read (no runs yet, no playbook on the line, a playbook that
does not load) it offers nothing, and the shell falls back to its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from drkit.cli.common import parse_overrides, runtime_of
from drkit.engine.runs import recorded_run_ids
from drkit.engine.usecases import load
from drkit.errors import DrkitError
from drkit.playbook.model import Playbook


def run_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The recorded runs, newest first."""
    return _matching(recorded_run_ids(runtime_of(ctx).state_dir), incomplete)


def phase_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The phases of the playbook given on the line (with its --set values)."""
    playbook = _playbook_on_the_line(ctx)
    return [] if playbook is None else _matching((p.name for p in playbook.phases), incomplete)


def checklist_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The checklists of the playbook given on the line."""
    playbook = _playbook_on_the_line(ctx)
    return [] if playbook is None else _matching(playbook.checklists, incomplete)


def _playbook_on_the_line(ctx: click.Context) -> Playbook | None:
    path = ctx.params.get("playbook")
    if path is None and ctx.args:
        # Completing an option's value (`drill PLAYBOOK --from-phase <TAB>`), click stops parsing at the
        # option that has no value yet and leaves the positional words unassigned: the first is the playbook.
        path = Path(ctx.args[0])
    if not isinstance(path, Path):
        return None
    try:
        return load(path, parse_overrides(tuple(ctx.params.get("overrides") or ())), runtime_of(ctx))
    except (DrkitError, click.BadParameter):
        return None


def _matching(names: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]
