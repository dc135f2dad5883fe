"""Hostile YAML is refused with a position that points at the cause: where an unclosed construct opened, the
byte that is not UTF-8, the alias that tips the expansion over the limit, the first node too deep."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.manifests.errors import ManifestError
from drkit.manifests.models import load_documents as load_manifest_documents
from drkit.playbook.yaml_input import (
    MANIFEST_LIMITS,
    PLAYBOOK_LIMITS,
    YamlInputError,
    check_documents,
    compose,
    decode_utf8,
    load_documents,
)


def error_of(text: str) -> YamlInputError:
    with pytest.raises(YamlInputError) as caught:
        compose(text)
    return caught.value


def filler(count: int) -> str:
    return "".join(f"b{i}: {i}\n" for i in range(count))


def test_an_unclosed_bracket_is_reported_where_it_opened_not_where_the_parser_gave_up() -> None:
    text = filler(11) + "a: [1, 2,\n" + filler(20)  # the `[` is on line 12, column 4
    error = error_of(text)
    assert (error.line, error.column) == (12, 4)
    assert "the flow sequence ('[') opened at 12:4 is never closed" in error.message
    # and where ruamel gave up, two lines on: inside `[`, `b0: 0` is a pair and `b1:` a second colon
    assert "the parser stopped, at 14:3: expected ',' or ']'" in error.message
    assert error.hint == "close it with ']'"


def test_an_unclosed_brace_far_from_the_end() -> None:
    text = "top:\n  x: {a: 1,\n" + "".join(f"    k{i}: v\n" for i in range(30)) + "other: 2\n"
    error = error_of(text)
    assert (error.line, error.column) == (2, 6)
    assert "the flow mapping ('{') opened at 2:6 is never closed" in error.message


@pytest.mark.parametrize("quote", ['"', "'"])
def test_an_unclosed_quote_is_reported_where_it_opened(quote: str) -> None:
    text = filler(4) + f"msg: {quote}hello\n" + filler(25)
    error = error_of(text)
    assert (error.line, error.column) == (5, 6)
    assert "the quoted string opened at 5:6 is never closed" in error.message


def test_a_closer_of_the_wrong_kind_leaves_the_opener_unclosed() -> None:
    error = error_of("a: {b: [1, 2}}\n")
    assert (error.line, error.column) == (1, 8)
    assert "flow sequence ('[') opened at 1:8 is never closed" in error.message


def test_the_innermost_unclosed_construct_is_named() -> None:
    error = error_of("a: [1, {b: 2,\n  c: 3\n")
    assert (error.line, error.column) == (1, 8)
    assert "flow mapping ('{')" in error.message


def test_brackets_in_comments_and_strings_do_not_count() -> None:
    error = error_of('a: "[not a bracket"  # nor this: {\nb: [1\nc: 2\n')
    assert (error.line, error.column) == (2, 4)


def test_a_closed_construct_is_not_called_unclosed() -> None:
    # Closed, but broken inside: an implicit key longer than YAML's 1024 characters. The report is where the
    # parser stopped, with the construct it was in, and no claim that the brace is never closed.
    text = "a: {run: x, " + "k" * 1100 + ": 1}\n"
    error = error_of(text)
    assert "never closed" not in error.message
    assert (error.line, error.column) == (1, 1113)
    assert "while parsing a flow mapping at 1:4" in error.message


def test_other_syntax_errors_name_the_construct_they_are_in() -> None:
    error = error_of("a:\n  b: 1\n c: 2\n")
    assert (error.line, error.column) == (3, 2)
    assert "while parsing a block mapping at 1:1" in error.message


def test_a_bad_byte_is_located_in_characters_not_bytes() -> None:
    data = "a: 1\nnamé: caf".encode() + b"\xe9\n"
    with pytest.raises(YamlInputError) as caught:
        decode_utf8(data)
    assert (caught.value.line, caught.value.column) == (2, 10)  # `é` before it is one character
    assert "byte 0xe9 is not UTF-8" in caught.value.message


def test_a_utf8_bom_is_dropped_and_utf16_refused() -> None:
    assert decode_utf8(b"\xef\xbb\xbfa: 1\n") == "a: 1\n"
    with pytest.raises(YamlInputError, match="UTF-16"):
        decode_utf8("a: 1\n".encode("utf-16"))


def test_a_nul_is_located() -> None:
    error = error_of("a: 1\nb: x\x00y\n")
    assert (error.line, error.column) == (2, 5)
    assert "U+0000" in error.message


def test_the_alias_that_passes_the_node_limit_is_named() -> None:
    # l0 is 1 node, each next level 1 + 10 x the one before: 1, 11, 111, 1111, 11111. With the mapping, its
    # 6 keys and l5's own node the count is 12 348 when l5's aliases start: the 8th alias passes 100 000.
    levels = ["l0: &l0 x"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 7)]
    error = error_of("\n".join(levels) + "\n")
    assert "expands to more than 100000 nodes" in error.message
    assert (error.line, error.column) == (6, 10 + 7 * 5)


def test_a_large_but_honest_use_of_aliases_loads() -> None:
    levels = ["l0: &l0 x"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 5)]
    node, tags = compose("\n".join(levels) + "\n")
    assert node is not None
    assert tags == []


def test_an_alias_inside_its_own_anchor_is_a_cycle() -> None:
    error = error_of("a: &loop [1, *loop]\n")
    assert (error.line, error.column) == (1, 14)
    assert "cycle" in error.message


def test_nesting_is_bounded_at_64_levels() -> None:
    def nested(depth: int) -> str:  # the root mapping is level 1, `a`'s value 2, ...
        return "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"

    assert compose(nested(64))[0] is not None
    error = error_of(nested(65))
    assert "nests deeper than 64 levels" in error.message
    assert (error.line, error.column) == (1, 4 + 63)  # the first `[` is level 2: the 64th is level 65


def test_a_large_text_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(YamlInputError, match="more than the limit of 1 MiB"):
        compose("a: " + "x" * (2 * 1024 * 1024) + "\n")


def test_tags_outside_the_core_schema_are_collected_with_their_positions() -> None:
    node, tags = compose("a: !!python/object/apply:os.system [ls]\nb: !!str ok\nc: !shell x\n")
    assert node is not None
    assert [(t.line, t.column, t.tag) for t in tags] == [
        (1, 4, "!!python/object/apply:os.system"),
        (3, 4, "!shell"),
    ]


def test_manifest_documents_keep_their_lines_and_refuse_tags() -> None:
    documents = load_documents("---\na: 1\n---\n\nb: 2\n", MANIFEST_LIMITS)
    assert [(d.line, d.data) for d in documents] == [(2, {"a": 1}), (5, {"b": 2})]
    with pytest.raises(YamlInputError, match="unsupported YAML tag '!!binary'") as caught:
        load_documents("a: 1\n---\nb: !!binary aGk=\n", MANIFEST_LIMITS)
    assert (caught.value.line, caught.value.column) == (3, 4)


def test_the_limits_are_the_documented_ones() -> None:
    """docs/playbooks.md ("Limits") states these; a change must change the docs too."""
    assert (PLAYBOOK_LIMITS.max_bytes, PLAYBOOK_LIMITS.max_depth, PLAYBOOK_LIMITS.max_nodes) == (
        1024 * 1024,
        64,
        100_000,
    )
    assert (MANIFEST_LIMITS.max_bytes, MANIFEST_LIMITS.max_depth, MANIFEST_LIMITS.max_nodes) == (
        16 * 1024 * 1024,
        128,
        2_000_000,
    )


def test_the_round_trip_manifest_reader_is_checked_too(tmp_path: Path) -> None:
    """`modelUris`, `modelArtifact` and `drkit models rewrite` read manifests round-trip: same limits."""
    levels = ["l0: &l0 x"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "models.yaml"
    with pytest.raises(ManifestError, match=r"models\.yaml:8:\d+: the manifest expands to more than 2000000"):
        load_manifest_documents(path, "\n".join(levels) + "\n")
    with pytest.raises(ManifestError, match=r"unsupported YAML tag '!!python/name:os\.system'"):
        load_manifest_documents(path, "a: 1\n---\nb: !!python/name:os.system ''\n")
    assert len(load_manifest_documents(path, "a: 1\n---\nb: 2\n")) == 2
    check_documents("a: 1\n---\nb: [1, 2]\n")


def test_a_redefined_anchor_is_allowed_and_the_later_one_wins() -> None:
    node, _ = compose("a: &x 1\nb: &x 2\nc: *x\n")  # pytest turns warnings into errors: none is raised
    assert node is not None
    assert node.value[2][1].value == "2"
