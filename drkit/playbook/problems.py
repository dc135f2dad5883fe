"""Positioned problems in a playbook, and how they are shown: compiler-style, with the line and a caret.

Every problem is collected before anything runs, so one `drkit validate` shows all of them. The line shown is
masked: a secret typed into a playbook must not reach a terminal, a CI log or a report through an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from drkit.playbook.source import Position
from drkit.secret_registry import MASK

# Names that hold secrets: a variable so named is secret, and a line whose key matches has its value masked.
SECRET_NAME = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|credential|private[_-]?key)")
# `key: value` (block or flow style): a key is a whole word (possessive, so a long word is scanned once); the
# value ends at `,` `}` `]` or a comment. Whether the key looks secret is decided after matching.
_ASSIGNMENT_KEY = re.compile(r"""(?<![\w.-])["']?[\w.-]++["']?\s*+[:=]\s*+""")
_ASSIGNMENT_VALUE = re.compile(r"""(?x)"[^"]*+"?|'[^']*+'?|[^,}\]\s\#][^,}\]\#]*?(?=\s*(?:[,}\]\#]|$))""")

# Characters shown as U+FFFD in a source line (everything below space but the tab, and DEL and C1 controls).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_MAX_SHOWN = 160  # characters of a source line shown around the caret
_MAX_MESSAGE = 400  # characters of a message or hint
MAX_SHOWN_PROBLEMS = 50  # problems rendered; the rest are counted

_RED = "\x1b[1;31m"
_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


@dataclass(frozen=True)
class Problem:
    position: Position
    message: str  # what is wrong, e.g. "unknown key 'budgt' in phase 'teardown'"
    hint: str | None = None  # how to fix, e.g. "did you mean 'budget'?"
    line_text: str = ""  # the offending source line, secrets masked


def is_secret_name(name: str) -> bool:
    """Whether a variable or key so named holds a secret."""
    return SECRET_NAME.search(name) is not None


def mask_secret_assignments(line: str) -> str:
    """`password: hunter2` -> `password: ****`, in block and flow style alike. Linear in the line's length:
    the line shown under a problem may be a hostile megabyte."""
    if SECRET_NAME.search(line) is None:
        return line
    parts: list[str] = []
    done = 0
    for key in _ASSIGNMENT_KEY.finditer(line):
        if key.start() < done or SECRET_NAME.search(key.group()) is None:
            continue
        value = _ASSIGNMENT_VALUE.match(line, key.end())
        if value is None:
            continue
        parts += [line[done : key.end()], MASK]
        done = value.end()
    return "".join(parts) + line[done:]


def render_problems(problems: Sequence[Problem], *, color: bool = False) -> str:
    """Render problems one after another, each as:

    playbooks/x.yaml:12:7: error: unknown key 'budgt' in phase 'teardown'
      12 |     budgt: 5m
         |     ^
    hint: did you mean 'budget'?
    """
    shown = problems[:MAX_SHOWN_PROBLEMS]
    width = max((len(str(p.position.line)) for p in shown), default=1)
    text = "\n".join(_render_one(p, width, color) for p in shown)
    if len(problems) > len(shown):
        text += f"\n... and {len(problems) - len(shown)} more problem(s): fix these first"
    return text


def _clip(text: str) -> str:
    """A message or hint quoting hostile input (a key a megabyte long) is cut, never printed whole."""
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "... (cut)"


def shown_line(text: str, column: int) -> tuple[str, int]:
    """The line as shown under a problem, and the caret's column in it: control characters (a NUL, an escape
    sequence) as U+FFFD so they cannot act on the terminal, and a long line cut to a window around the
    column (a 1 MB one-line file must not become a 1 MB error)."""
    text = _CONTROL.sub("\ufffd", text)
    if len(text) <= _MAX_SHOWN:
        return text, column
    start = max(0, min(column - 1 - _MAX_SHOWN // 2, len(text) - _MAX_SHOWN))
    end = start + _MAX_SHOWN
    head, tail = ("..." if start > 0 else ""), ("..." if end < len(text) else "")
    return head + text[start:end] + tail, column - start + len(head)


def _render_one(problem: Problem, width: int, color: bool) -> str:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    pos = problem.position
    where = str(pos) if pos.line > 0 else pos.file
    lines = [f"{paint(_BOLD, where)}: {paint(_RED, 'error:')} {_clip(problem.message)}"]
    if pos.line > 0 and problem.line_text:
        text, column = shown_line(problem.line_text.rstrip("\n"), pos.column)
        # Keep tabs before the caret so it lines up under the same column on a terminal.
        before = text[: max(0, column - 1)]
        lead = "".join(ch if ch == "\t" else " " for ch in before) + " " * (column - 1 - len(before))
        lines.append(f"  {pos.line:>{width}} {paint(_DIM, '|')} {text}")
        lines.append(f"  {'':>{width}} {paint(_DIM, '|')} {lead}{paint(_RED, '^')}")
    if problem.hint:
        lines.append(f"{paint(_CYAN, 'hint:')} {_clip(problem.hint)}")
    return "\n".join(lines)
