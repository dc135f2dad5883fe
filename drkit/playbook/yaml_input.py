"""Reading YAML that may be hostile: bounded in size, depth and alias expansion, UTF-8 only, no object tags.

Playbooks and the manifest files they name are read by this module only, so one set of rules holds for both:

- the file is a regular file (or a pipe) read up to a size limit, never a device that never ends;
- it is UTF-8 (a UTF-8 byte-order mark is dropped); a bad byte is reported at its line and column;
- collections nest at most `max_depth` deep (ruamel's composer recurses: a deeper document would exhaust
  Python's stack);
- aliases expand to at most `max_nodes` nodes in all: the loader and the manifest reader walk composed nodes,
  where an alias is the same node again, so a "billion laughs" document of 1 KB would be walked 10^9 times;
  an alias inside the node it names (a cycle) is refused outright;
- only the YAML core tags are allowed: a tag never constructs an object (`!!python/object/apply:os.system`),
  and `!!binary`, `!!set` or a custom `!tag` are refused rather than silently read as plain data;
- a syntax error in an unclosed bracket, brace or quote is reported where the construct opened, which is where
  the mistake is; ruamel reports where it gave up, often many lines later.

Problems are `YamlInputError`s with 1-based positions; callers turn them into their own located errors.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tokens import (
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
)

MIB = 1024 * 1024
CORE_TAG = "tag:yaml.org,2002:"
# The tags the YAML core schema resolves plain scalars and collections to (and `<<`), explicit or implicit.
CORE_TAGS = frozenset(
    CORE_TAG + name for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
)


@dataclass(frozen=True)
class YamlLimits:
    """How much a YAML input may hold. See docs/playbooks.md ("Limits") for the values and why."""

    what: str  # "playbook", "manifest": how messages name the input
    max_bytes: int
    max_depth: int
    max_nodes: int  # nodes after expanding every alias


# A playbook is written by hand: the largest shipped one is 9 KB, about 900 nodes, 8 levels deep.
PLAYBOOK_LIMITS = YamlLimits("playbook", max_bytes=1 * MIB, max_depth=64, max_nodes=100_000)
# Manifests are bigger (CRDs with their OpenAPI schemas nest deep and weigh hundreds of KB each).
MANIFEST_LIMITS = YamlLimits("manifest", max_bytes=16 * MIB, max_depth=128, max_nodes=2_000_000)


class YamlInputError(Exception):
    """A problem with a YAML input: at `line`:`column` (1-based; line 0 means the whole file)."""

    def __init__(self, line: int, column: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint

    def located(self, origin: str) -> str:
        where = f"{origin}:{self.line}:{self.column}" if self.line > 0 else origin
        return f"{where}: {self.message}"


def read_limited(path: Path, limits: YamlLimits, *, allow_pipe: bool = True) -> str:
    """The text of the file at `path`: a regular file (or, with `allow_pipe`, a pipe: `drkit validate <(...)`)
    of at most `limits.max_bytes`, in UTF-8.

    Raises OSError when it cannot be opened, YamlInputError for everything else.
    """
    info = os.stat(path)  # follows symlinks: what counts is what is read
    if stat.S_ISDIR(info.st_mode):
        raise YamlInputError(0, 0, f"it is a directory, not a {limits.what} file")
    if not (stat.S_ISREG(info.st_mode) or (allow_pipe and stat.S_ISFIFO(info.st_mode))):
        raise YamlInputError(
            0, 0, "it is not a regular file", f"a {limits.what} must be a file (not a device, pipe or socket)"
        )
    if stat.S_ISREG(info.st_mode) and info.st_size > limits.max_bytes:
        raise _too_large(info.st_size, limits)
    with open(path, "rb") as handle:
        data = handle.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:  # a pipe, or a file that grew while we read it
        raise _too_large(len(data), limits)
    return decode_utf8(data, limits.what)


def _too_large(size: int, limits: YamlLimits) -> YamlInputError:
    shown = f"{size / MIB:.1f} MiB" if size >= MIB else f"{size} bytes"
    return YamlInputError(
        0,
        0,
        f"the {limits.what} is {shown}, more than the limit of {limits.max_bytes // MIB} MiB",
        f"a {limits.what} this large is not written by hand: split it, or check that this is the right file",
    )


def decode_utf8(data: bytes, what: str = "playbook") -> str:
    """UTF-8 text of `data` (a leading UTF-8 byte-order mark dropped); a bad byte is located."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlInputError(
            1, 1, f"the {what} is UTF-16 (it starts with a UTF-16 byte-order mark)", "save it as UTF-8"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        byte = data[error.start]
        raise YamlInputError(
            line,
            column,
            f"byte 0x{byte:02x} is not UTF-8 ({error.reason})",
            f"the {what} must be UTF-8 text: re-save it as UTF-8 (is it Latin-1, or a binary file?)",
        ) from None


def check_size(text: str, limits: YamlLimits) -> None:
    """Text given directly (not read from a file) obeys the same size limit."""
    if len(text) > limits.max_bytes:  # characters: at least as many bytes
        raise _too_large(len(text.encode("utf-8")), limits)


@dataclass(frozen=True)
class TagProblem:
    line: int
    column: int
    tag: str  # as written: `!!python/object/apply:os.system`, `!shell`


def shown_tag(tag: object) -> str:
    text = str(tag)
    return "!!" + text[len(CORE_TAG) :] if text.startswith(CORE_TAG) else text


@dataclass
class _Budget:
    limits: YamlLimits
    nodes: int = 0
    expanded: dict[int, int] = field(default_factory=dict)  # id(node) -> its size with aliases expanded
    tag_problems: list[TagProblem] = field(default_factory=list)


class _GuardedComposer(Composer):
    """ruamel's composer, counting nodes with aliases expanded, refusing cycles, and noting unknown tags.

    Depth is ruamel's own `max_depth` (set on the YAML instance), checked before it recurses further.
    """

    budget: _Budget  # set by `_yaml`, on a subclass made for one load

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # YAML allows an anchor to be redefined; a warning would be noise
        self._alias_mark: Any = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            self._alias_mark = self.parser.peek_event().start_mark
            return super().compose_node(parent, index)
        event = self.parser.peek_event()
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if str(node.tag) not in CORE_TAGS:
            mark = node.start_mark
            self.budget.tag_problems.append(TagProblem(mark.line + 1, mark.column + 1, shown_tag(node.tag)))
        return node

    def return_alias(self, a: Any) -> Any:
        mark = self._alias_mark
        # ruamel registers an anchor when its collection starts and sets `end_mark` when it ends: an alias to
        # a collection without one yet is inside it.
        if isinstance(a, MappingNode | SequenceNode) and a.end_mark is None:
            raise YamlInputError(
                mark.line + 1,
                mark.column + 1,
                "alias refers to the collection it is inside (a cycle)",
                "an alias may only repeat a node that is complete: move the anchor, or copy the data",
            )
        self._count(_expanded_size(a, self.budget.expanded), mark, alias=True)
        return a

    def _count(self, nodes: int, mark: Any, *, alias: bool = False) -> None:
        self.budget.nodes += nodes
        limit = self.budget.limits.max_nodes
        if self.budget.nodes > limit:
            what = self.budget.limits.what
            raise YamlInputError(
                mark.line + 1,
                mark.column + 1,
                f"the {what} expands to more than {limit} nodes"
                + (" when its aliases are expanded (an alias bomb?)" if alias else ""),
                "repeat less with anchors and aliases"
                if alias
                else f"a {what} this large is not written by hand",
            )


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """How many nodes `node` stands for with every alias in it expanded (shared nodes counted each time)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[id(node)] = size
    return size


def _yaml(typ: str, limits: YamlLimits) -> tuple[YAML, _Budget]:
    budget = _Budget(limits)
    yaml = YAML(typ=typ, pure=True)

    class _ThisLoad(_GuardedComposer):
        pass

    _ThisLoad.budget = budget
    yaml.Composer = _ThisLoad
    yaml.max_depth = limits.max_depth
    return yaml, budget


def compose(text: str, limits: YamlLimits = PLAYBOOK_LIMITS) -> tuple[Node | None, list[TagProblem]]:
    """The one document of `text` as ruamel nodes (positions kept), and every tag outside the core schema.

    Raises YamlInputError for a syntax error or a limit.
    """
    check_size(text, limits)
    yaml, budget = _yaml("rt", limits)
    try:
        node = yaml.compose(io.StringIO(text))
    except (MarkedYAMLError, ReaderError) as error:
        raise syntax_error(error, text, limits) from None
    return node, budget.tag_problems


@dataclass(frozen=True)
class Document:
    line: int  # where the document starts (1-based)
    data: Any  # plain Python data (the safe constructor: dicts, lists, str, int, float, bool, None, dates)


def load_documents(text: str, limits: YamlLimits = MANIFEST_LIMITS) -> list[Document]:
    """Every document of a multi-document YAML text, with the line where it starts.

    Raises YamlInputError for a syntax error, a limit, or a tag outside the core schema.
    """
    check_size(text, limits)
    yaml, budget = _yaml("safe", limits)
    documents: list[Document] = []
    try:
        nodes = list(_compose_all(yaml, text))
        if budget.tag_problems:
            first = budget.tag_problems[0]
            raise YamlInputError(
                first.line, first.column, f"unsupported YAML tag '{first.tag}'", "remove the tag"
            )
        for node in nodes:
            data = yaml.constructor.construct_document(node) if node is not None else None
            documents.append(Document(node.start_mark.line + 1 if node is not None else 1, data))
    except (MarkedYAMLError, ReaderError) as error:
        raise syntax_error(error, text, limits) from None
    except YAMLError as error:  # a constructor error without a mark
        raise YamlInputError(1, 1, f"invalid YAML: {str(error).splitlines()[0]}") from None
    return documents


def check_documents(text: str, limits: YamlLimits = MANIFEST_LIMITS) -> None:
    """Raise YamlInputError when any document of `text` breaks a limit or uses a tag outside the core
    schema: for readers that load the text themselves afterwards (the round-trip manifest editor)."""
    check_size(text, limits)
    yaml, budget = _yaml("rt", limits)
    try:
        for _ in _compose_all(yaml, text):
            pass
    except (MarkedYAMLError, ReaderError) as error:
        raise syntax_error(error, text, limits) from None
    if budget.tag_problems:
        first = budget.tag_problems[0]
        raise YamlInputError(
            first.line, first.column, f"unsupported YAML tag '{first.tag}'", "remove the tag"
        )


def _compose_all(yaml: YAML, text: str) -> Iterator[Node | None]:
    yield from yaml.compose_all(io.StringIO(text))


# --- syntax errors ---------------------------------------------------------------------------------------

_OPENS: dict[type[Any], str] = {FlowSequenceStartToken: "[", FlowMappingStartToken: "{"}
_CLOSES: dict[type[Any], str] = {FlowSequenceEndToken: "[", FlowMappingEndToken: "{"}
_FLOW = {
    "[": ("flow sequence ('[')", "close it with ']'"),
    "{": ("flow mapping ('{')", "close it with '}'"),
}


def _never_closed(text: str) -> tuple[str, str, tuple[int, int]] | None:
    """The innermost `[` or `{` that no matching bracket ever closes, scanning the whole text (the scanner
    goes on past where the parser gave up): (what it is, how to fix it, its 1-based line and column).

    A closer of the other kind (`[a, b}`) leaves the opener unclosed too. A scanner error ends the scan
    without an answer: the text after it says nothing about brackets.
    """
    stack: list[tuple[str, Any]] = []
    try:
        for token in YAML(typ="rt", pure=True).scan(io.StringIO(text)):
            token_type: type[Any] = type(token)
            if token_type in _OPENS:
                stack.append((_OPENS[token_type], token.start_mark))
            elif token_type in _CLOSES:
                if not stack or stack[-1][0] != _CLOSES[token_type]:
                    break
                stack.pop()
    except YAMLError:
        return None
    if not stack:
        return None
    bracket, mark = stack[-1]
    construct, hint = _FLOW[bracket]
    return construct, hint, (mark.line + 1, mark.column + 1)


_QUOTE_HINT = "close the quote; inside \"...\" write \\\" for a quote, inside '...' write ''"
# Problems of a quoted scalar that mean its closing quote never came (rather than something wrong inside it).
_UNCLOSED_QUOTE = ("found unexpected end of stream", "found unexpected document separator")

_HINTS = {
    "mapping values are not allowed here": "check the indentation, or quote a value that contains ': '",
    "could not find expected ':'": "a key needs ': ' after it; check the indentation of this line",
    "found character '\\t' that cannot start any token": "indent with spaces: YAML does not allow tabs",
    "found undefined alias": "define the anchor (&name) before using it (*name)",
    "but found another document": "a playbook is one YAML document: remove the '---' separator",
}


def syntax_error(error: MarkedYAMLError | ReaderError, text: str, limits: YamlLimits) -> YamlInputError:
    """A ruamel error as a located YamlInputError: at the opening of an unclosed construct, else where the
    parser stopped, with the construct it was in."""
    if isinstance(error, ReaderError):
        index = error.position if isinstance(error.position, int) else 0
        before = text[:index]
        line, column = before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "?")
        return YamlInputError(
            line,
            column,
            f"control character U+{code:04X} is not allowed in YAML",
            f"remove it: a {limits.what} is text (is this a binary file?)",
        )
    if "maximum depth" in str(error.problem or ""):
        mark = error.problem_mark
        return YamlInputError(
            mark.line + 1 if mark else 1,
            mark.column + 1 if mark else 1,
            f"the {limits.what} nests deeper than {limits.max_depth} levels",
            "flatten the structure: nothing in a " + limits.what + " needs to nest this deep",
        )
    problem = str(error.problem or error.context or "invalid YAML")
    context = str(error.context or "")
    start, stop = error.context_mark, error.problem_mark
    if context == "while scanning a quoted scalar" and start is not None and problem in _UNCLOSED_QUOTE:
        at = f" at {stop.line + 1}:{stop.column + 1}" if stop is not None else ""
        opened = f"{start.line + 1}:{start.column + 1}"
        return YamlInputError(
            start.line + 1,
            start.column + 1,
            f"YAML syntax error: the quoted string opened at {opened} is never closed ({problem}{at})",
            _QUOTE_HINT,
        )
    opener = _never_closed(text)
    if opener is not None:
        construct, fix, (opened_line, opened_column) = opener
        gave_up = f", at {stop.line + 1}:{stop.column + 1}" if stop is not None else ""
        return YamlInputError(
            opened_line,
            opened_column,
            f"YAML syntax error: the {construct} opened at {opened_line}:{opened_column} is never closed "
            f"(the parser stopped{gave_up}: {problem})",
            fix,
        )
    mark = stop or start
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    where = ""
    if context and error.problem:
        opened = f" at {start.line + 1}:{start.column + 1}" if start is not None and start is not mark else ""
        where = f" ({context}{opened})"
    return YamlInputError(
        line,
        column,
        f"YAML syntax error: {problem}{where}",
        _HINTS.get(problem, "check the indentation and quoting around here"),
    )
