"""Reading validated bodies: the helpers narrow what the schema guaranteed, and a body that never went
through the loader is a bug (InternalError), not a playbook problem told to the user as theirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drkit.errors import ExitCode, InternalError
from drkit.steps import http
from drkit.steps.settings import list_of, opt_choice, opt_int, opt_number, req_str, str_list, str_map


def test_helpers_give_the_validated_values_or_their_defaults() -> None:
    body: dict[str, object] = {"name": "m", "count": 3, "after": 30, "names": ["a", "b"], "env": {"A": "1"}}
    assert req_str(body, "name") == "m"
    assert opt_int(body, "count", 1) == 3
    assert opt_int(body, "missing", 1) == 1
    assert opt_number(body, "after", 0.0) == 30.0
    assert str_list(body, "names") == ("a", "b")
    assert str_list(body, "missing") == ()
    assert list_of({"codes": [200, 204]}, "codes", int) == (200, 204)
    assert str_map(body, "env") == {"A": "1"}
    assert opt_choice({"for": "deleted"}, "for", ("ready", "deleted"), "ready") == "deleted"
    assert opt_choice({}, "for", ("ready", "deleted"), "ready") == "ready"


@pytest.mark.parametrize(
    "read",
    [
        lambda: req_str({}, "name"),
        lambda: opt_int({"count": "3"}, "count", 1),
        lambda: opt_number({"after": True}, "after", 0.0),
        lambda: str_list({"names": "a"}, "names"),
        lambda: opt_choice({"for": "gone"}, "for", ("ready", "deleted"), "ready"),
        lambda: http.parse_settings({"url": 5}),
    ],
)
def test_a_body_that_bypassed_the_loader_is_an_internal_error(read: Callable[[], object]) -> None:
    with pytest.raises(InternalError, match="not validated against its kind's schema") as caught:
        read()
    assert caught.value.exit_code is ExitCode.INTERNAL
