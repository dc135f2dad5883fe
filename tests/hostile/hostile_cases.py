"""The corpus of hostile and broken playbooks and manifests, as cases the tests run through the real CLI.

Most cases are files under `corpus/<group>/`, each starting with its expectation:

    # expect: COMMANDS LINE:COL FRAGMENT

COMMANDS are the drkit commands that must refuse it (`validate`, `plan`, `drill`), LINE:COL where the message
must point (`-`: at the file as a whole), FRAGMENT a piece of what it must say. The positions were found in
each file's own text (where the construct is written), not taken from drkit's output. Manifests the
corpus playbooks name are under `corpus/inputs/`. Cases that cannot be files in a repository (50 MB, UTF-16,
a device, a FIFO, symlinks that leave the checkout, alias bombs whose point is their expansion) are
generated below.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
GROUPS = ("yaml", "tags", "schema", "paths", "manifests")
_EXPECT = re.compile(r"# expect: (?P<commands>[a-z,]+) (?P<where>-|\d+:\d+) (?P<fragment>.+)")
MIB = 1024 * 1024

HEAD = "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: hostile}\ntarget: {contexts: [hostile]}\n"
PHASE = "phases:\n  - name: one\n    steps:\n"


@dataclass(frozen=True)
class HostileCase:
    id: str  # "group/name"
    commands: tuple[str, ...]
    location: tuple[int, int] | None  # None: the message names the file as a whole
    fragment: str
    prepare: Callable[[Path], Path]  # writes what the case needs under a scratch directory; the playbook
    secret: str | None = None  # a value that must appear nowhere in the output
    heavy: bool = False  # hostile to time or memory: also run alone in a resource-limited process

    @property
    def group(self) -> str:
        return self.id.split("/")[0]


def _from_file(path: Path) -> HostileCase:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    match = _EXPECT.fullmatch(first)
    assert match is not None, f"{path} does not start with '# expect: COMMANDS LINE:COL FRAGMENT'"
    where = match["where"]
    location = None if where == "-" else (int(where.split(":")[0]), int(where.split(":")[1]))
    secret = "s3cr3t-t0ken-value" if "secret" in path.stem else None

    def prepare(scratch: Path) -> Path:
        # The corpus as it is in the checkout (read only): `../inputs/...` resolves beside it.
        return path

    heavy = path.stem.startswith("deep")
    return HostileCase(
        f"{path.parent.name}/{path.stem}",
        tuple(match["commands"].split(",")),
        location,
        match["fragment"],
        prepare,
        secret,
        heavy,
    )


def _written(name: str, content: bytes | Callable[[Path], None]) -> Callable[[Path], Path]:
    def prepare(scratch: Path) -> Path:
        path = scratch / name
        if callable(content):
            content(path)
        else:
            path.write_bytes(content)
        return path

    return prepare


def _laughs(levels: int, width: int) -> str:
    """The billion-laughs document body: each level an anchored list of `width` aliases of the one below."""
    lines = ["      - &l0 lol"]
    lines += [f"      - &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _alias_bomb() -> bytes:
    # 9 levels of 10: 10^9 nodes once expanded, 600 bytes written. The bomb goes into `equals`, which takes
    # any value and so would be walked in full.
    text = HEAD + "vars: {}\nphases:\n  - name: one\n    steps:\n      - command: {run: 'true'}\n"
    text += "checklists:\n  laughs:\n    - name: bomb\n      http:\n        url: http://127.0.0.1:9/\n"
    text += "        expect:\n          json:\n            - path: $.a\n              equals:\n"
    text += "".join("          " + line + "\n" for line in _laughs(10, 10).splitlines())
    return text.encode()


def _merge_bomb() -> bytes:
    # Merge keys that repeat a mapping that merges the one before: each level doubles what `<<` expands.
    lines = ["x-base: &m0 {a: 1, b: 2, c: 3, d: 4}"]
    lines += [f"x-m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}, *m{i - 1}, *m{i - 1}]}}" for i in range(1, 20)]
    text = HEAD + "\n".join(lines) + "\n" + PHASE + "      - command: {run: 'true'}\n        <<: *m19\n"
    return text.encode()


def _large_file(path: Path) -> None:
    # 50 MB of plausible YAML (written, not sparse: what is read is real).
    block = (HEAD + PHASE).encode() + b"      - command: {run: 'true'}\n" * 1000
    with open(path, "wb") as handle:
        while handle.tell() < 50 * MIB:
            handle.write(block)
        handle.truncate(50 * MIB)


def _long_line() -> bytes:
    # A value of 900 KB on one line, under the size limit: the message quotes it cut, and the line shown
    # under it is a window around the caret, never the whole line.
    return (
        HEAD + PHASE + "      - command: {run: 'true'}\n        timeout: " + "k" * 900_000 + "\n"
    ).encode()


def _many_problems() -> bytes:
    # 20 000 unknown keys: every one is found, only the first 50 are printed.
    keys = "".join(f"        unknown{i}: 1\n" for i in range(20_000))
    return (HEAD + PHASE + "      - command: {run: 'true'}\n" + keys).encode()


def _deep_block() -> bytes:
    # 200 levels of block mappings, each indented one more step: too deep for the composer's recursion.
    text = HEAD + PHASE + "      - command: {run: 'true'}\n        x:\n"
    text += "".join(" " * (10 + i) + f"k{i}:\n" for i in range(200))
    return text.encode()


def _manifest_bomb(scratch: Path) -> Path:
    inputs = scratch / "inputs"
    inputs.mkdir()
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb, namespace: hostile}\nbinaryData:\n  x:\n"
    body += "".join("    " + line[6:] + "\n" for line in _laughs(10, 10).splitlines())
    (inputs / "bomb.yaml").write_text(body, encoding="utf-8")
    return _manifest_playbook(scratch, "inputs/bomb.yaml")


def _manifest_too_large(scratch: Path) -> Path:
    inputs = scratch / "inputs"
    inputs.mkdir()
    document = b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: hostile}\n"
    with open(inputs / "huge.yaml", "wb") as handle:
        while handle.tell() < 20 * MIB:
            handle.write(document * 1000)
        handle.truncate(20 * MIB)
    return _manifest_playbook(scratch, "inputs/huge.yaml")


def _manifest_playbook(scratch: Path, manifest: str) -> Path:
    path = scratch / "playbook.yaml"
    path.write_text(HEAD + PHASE + f"      - name: apply-bad\n        apply: {{files: [{manifest}]}}\n")
    return path


def _symlink_escape(scratch: Path) -> Path:
    outside = scratch / "outside"
    outside.mkdir()
    (outside / "notes.txt").write_text("these are notes, not a manifest\n", encoding="utf-8")
    (scratch / "links").mkdir()
    (scratch / "links" / "escape.yaml").symlink_to(Path("..") / "outside" / "notes.txt")
    return _manifest_playbook(scratch, "links/escape.yaml")


def _symlink_loop(scratch: Path) -> Path:
    (scratch / "a.yaml").symlink_to("b.yaml")
    (scratch / "b.yaml").symlink_to("a.yaml")
    return _manifest_playbook(scratch, "a.yaml")


def _fifo(scratch: Path) -> Path:
    os.mkfifo(scratch / "pipe.yaml")  # nothing ever writes to it: reading it would wait forever
    return _manifest_playbook(scratch, "pipe.yaml")


def _directory(scratch: Path) -> Path:
    path = scratch / "playbook.yaml"
    path.mkdir()
    return path


def _escape_with_dots(scratch: Path) -> Path:
    # `..` out of the playbook's directory is allowed (manifests beside playbooks); what is there is checked.
    playbooks = scratch / "deep" / "down"
    playbooks.mkdir(parents=True)
    shutil.copy(CORPUS / "inputs" / "a-scalar.yaml", scratch / "text.yaml")
    path = playbooks / "playbook.yaml"
    path.write_text(HEAD + PHASE + "      - name: apply-bad\n        apply: {files: [../../text.yaml]}\n")
    return path


STEP_LINE = 8  # where `- name: apply-bad` is in the generated manifest playbooks
NAME_COLUMN = 15  # the name's value

GENERATED = [
    HostileCase(
        "yaml/alias-bomb",
        ("validate", "plan"),
        # 48 nodes before the bomb, then levels of 1, 11, 111, 1111 and 11111 nodes (12 393 in all); level 5
        # (line 24) passes 100 000 at its 8th alias: 12 394 + 8 x 11 111.
        (24, 59),
        "expands to more than 100000 nodes when its aliases are expanded",
        _written("playbook.yaml", _alias_bomb()),
        heavy=True,
    ),
    HostileCase(
        "yaml/merge-key-bomb",
        ("validate", "plan"),
        # 24 nodes to x-base; each level m_i is 3 + 4 x m_(i-1) nodes (9, 39, 159, ...): after m6 the count
        # is 54 624, and m7's second alias (40 959 nodes each) passes 100 000. m7 is on line 12.
        (12, 22),
        "expands to more than 100000 nodes when its aliases are expanded",
        _written("playbook.yaml", _merge_bomb()),
        heavy=True,
    ),
    HostileCase(
        "yaml/fifty-megabytes",
        ("validate", "plan"),
        None,
        "the playbook is 50.0 MiB, more than the limit of 1 MiB",
        _written("playbook.yaml", _large_file),
        heavy=True,
    ),
    HostileCase(
        "yaml/one-line-of-900-kb",
        ("validate",),
        (9, 18),
        "invalid duration 'kkkk",
        _written("playbook.yaml", _long_line()),
        heavy=True,
    ),
    HostileCase(
        "yaml/twenty-thousand-problems",
        ("validate",),
        (9, 9),
        "... and 19950 more problem(s)",
        _written("playbook.yaml", _many_problems()),
        heavy=True,
    ),
    HostileCase(
        "yaml/deep-block-mappings",
        ("validate", "plan"),
        # root 1, phases 2, a phase 3, steps 4, the step 5, x's mapping 6; key k_i is at depth 7 + i: k58
        # (line 68, indented 68 spaces) is the first node at depth 65.
        (68, 69),
        "the playbook nests deeper than 64 levels",
        _written("playbook.yaml", _deep_block()),
        heavy=True,
    ),
    HostileCase(
        "yaml/utf-16",
        ("validate", "plan"),
        (1, 1),
        "the playbook is UTF-16",
        _written("playbook.yaml", (HEAD + PHASE).encode("utf-16")),
    ),
    HostileCase(
        "yaml/utf-8-bom-then-a-mistake",
        ("validate",),
        (7, 5),  # the BOM shifts nothing
        "unknown key 'budgt' in phase 'one'",
        _written(
            "playbook.yaml", b"\xef\xbb\xbf" + (HEAD + "phases:\n  - name: one\n    budgt: 5m\n").encode()
        ),
    ),
    HostileCase(
        "yaml/latin-1",
        ("validate", "plan"),
        (3, 21),
        "byte 0xe9 is not UTF-8",
        _written(
            "playbook.yaml",
            "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: caf\xe9}\n".encode("latin-1"),
        ),
    ),
    HostileCase(
        "yaml/empty-file",
        ("validate", "plan"),
        (1, 1),
        "the playbook is empty",
        _written("playbook.yaml", b""),
    ),
    HostileCase("yaml/a-directory", ("validate", "plan"), None, "is a directory", _directory),
    HostileCase(
        "yaml/a-device",
        ("validate", "plan"),
        None,
        "cannot read playbook: it is not a regular file",
        lambda _scratch: Path("/dev/zero"),
        heavy=True,
    ),
    HostileCase(
        "paths/symlink-escaping-to-text",
        ("plan", "drill"),
        (STEP_LINE, NAME_COLUMN),
        "not a Kubernetes object: it is a str",
        _symlink_escape,
    ),
    HostileCase(
        "paths/symlink-loop",
        ("plan", "drill"),
        (STEP_LINE, NAME_COLUMN),
        "Too many levels of symbolic links",
        _symlink_loop,
    ),
    HostileCase(
        "paths/dot-dot-escaping-to-text",
        ("plan", "drill"),
        (STEP_LINE, NAME_COLUMN),
        "not a Kubernetes object: it is a str",
        _escape_with_dots,
    ),
    HostileCase(
        "paths/a-fifo",
        ("plan", "drill"),
        (STEP_LINE, NAME_COLUMN),
        "it is not a regular file",
        _fifo,
        heavy=True,
    ),
    HostileCase(
        "manifests/alias-bomb",
        ("plan", "drill"),
        (STEP_LINE, NAME_COLUMN),
        # 15 nodes, then levels of 1, 11, ..., 1 111 111 nodes: l7's first alias (line 13) passes 2 000 000.
        "bomb.yaml:13:12: the manifest expands to more than 2000000 nodes",
        _manifest_bomb,
        heavy=True,
    ),
    HostileCase(
        "manifests/twenty-megabytes",
        ("plan", "drill"),
        (STEP_LINE, NAME_COLUMN),
        "the manifest is 20.0 MiB, more than the limit of 16 MiB",
        _manifest_too_large,
        heavy=True,
    ),
]


def corpus_cases() -> list[HostileCase]:
    files = sorted(path for group in GROUPS for path in (CORPUS / group).glob("*.yaml"))
    return [_from_file(path) for path in files] + GENERATED


CASES = corpus_cases()
