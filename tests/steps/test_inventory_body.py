"""What an `inventory` body must give, refused by the loader at its position: namespaces from somewhere, and
at most one source of manifests."""

from __future__ import annotations

import pytest
from steps_support import BODY_LINE, load_problem, loaded_body, pointed_at

from drkit.steps.inventory import parse_inventory


@pytest.mark.parametrize(
    ("body", "message", "at"),
    [
        ("{kinds: [Secret]}", "needs at least one of: namespaces, kustomize, files", "{kinds"),
        ("{kustomize: base, files: [a.yaml]}", "'files' cannot be combined with 'kustomize'", "files:"),
    ],
)
def test_a_body_without_namespaces_or_with_two_sources_is_refused(body: str, message: str, at: str) -> None:
    problem = load_problem("inventory", body)
    assert problem.position.line == BODY_LINE
    assert message in problem.message
    assert pointed_at(problem).startswith(at)


def test_manifests_alone_are_enough_and_namespaces_alone_too() -> None:
    from_manifests = parse_inventory(loaded_body("inventory", "{kustomize: base}"))
    assert from_manifests.source is not None
    assert from_manifests.source.kustomize == "base"
    assert from_manifests.namespaces == ()
    listed = parse_inventory(loaded_body("inventory", "{namespaces: [fi], kinds: [Secret]}"))
    assert (listed.source, listed.namespaces, listed.kinds) == (None, ("fi",), ("Secret",))
