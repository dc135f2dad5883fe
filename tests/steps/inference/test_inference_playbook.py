"""Bad `inference` bodies fail at load, at their line, saying what is wrong and how to fix it; no request."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

from drkit.cli import run
from drkit.context import Runtime
from drkit.errors import ExitCode

# Nothing listens here: a request that got out would fail differently from a load-time refusal.
URL = "http://127.0.0.1:9"
GOOD_REQUEST = "{inputs: [{name: input-0, shape: [1, 2], datatype: FP64, data: [1.5, 2.5]}]}"


def validate(runtime: Runtime, tmp_path: Path, item: str) -> tuple[int, str]:
    """`drkit validate` on a playbook whose one checklist item is `item` (YAML, at 6 spaces)."""
    (tmp_path / "playbook.yaml").write_text(
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: serving}\n"
        "phases:\n  - name: validate\n    steps: [{check: serving}]\n"
        "checklists:\n  serving:\n    - name: model-answers\n"
        + textwrap.indent(textwrap.dedent(item).strip() + "\n", "      ")
    )
    code = run(["validate", "playbook.yaml"], runtime)
    assert isinstance(runtime.stderr, io.StringIO)
    return code, runtime.stderr.getvalue()


def position_of(path: Path, token: str) -> str:
    """`file:line:column` of the first `token` in the item's part of the playbook (after `inference:`)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "inference:" in line)
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        if token in line:
            return f"playbook.yaml:{number}:{line.index(token) + 1}"
    raise AssertionError(f"{token!r} is not in the playbook")


def test_a_good_item_validates(runtime: Runtime, tmp_path: Path) -> None:
    code, err = validate(
        runtime,
        tmp_path,
        f"""
        inference:
          url: {URL}
          headers: {{Seldon-Model: baseline-predictor}}
          model: baseline-predictor
          request: {GOOD_REQUEST}
          expect:
            outputs:
              - {{name: output-1, datatype: FP64, shape: [1, 1], data: [0.5], tolerance: {{relative: 0.01}}}}
            latency: 250ms
        """,
    )
    assert code == ExitCode.OK, err


@pytest.mark.parametrize(
    ("item", "token", "fragments"),
    [
        (
            f"inference:\n  url: {URL}\n  model: m\n  request: {GOOD_REQUEST}\n  expect: {{outputz: []}}",
            "outputz",
            ["unknown key 'outputz' in 'expect'", "did you mean 'outputs'"],
        ),
        (
            f"inference:\n  url: {URL}\n  model: m\n"
            "  request: {inputs: [{name: a, shape: [2], datatype: FP64, data: [1, 2], colour: red}]}",
            "colour",
            ["unknown key 'colour' in item 1 of 'inputs' in 'request'"],
        ),
        (
            f"inference:\n  url: {URL}\n  model: m\n"
            "  request: {inputs: [{name: a, shape: [2], datatype: FLOAT, data: [1, 2]}]}",
            "FLOAT",
            ["'FLOAT' is not allowed for 'datatype'", "use one of: BOOL, UINT8"],
        ),
        (
            f"inference:\n  url: {URL}\n  model: m\n  request: {GOOD_REQUEST}\n"
            "  expect: {outputs: [{data: [1], tolerance: {absolute: -0.5}}]}",
            "-0.5",
            ["'absolute' in 'tolerance'", "must be at least 0.0, got -0.5"],
        ),
        (
            f"inference:\n  url: {URL}\n  service: {{namespace: n, name: s, port: 80}}\n  model: m\n"
            f"  request: {GOOD_REQUEST}",
            "service:",
            ["'service' cannot be combined with 'url'", "keep only one of 'url', 'service'"],
        ),
        (
            f"inference:\n  model: m\n  request: {GOOD_REQUEST}",
            "model:",
            ["needs one of: url, service", "add exactly one of 'url', 'service'"],
        ),
        (
            f"inference:\n  url: {URL}\n  model: m",
            "url:",
            ["needs one of: request, requestFile"],
        ),
    ],
)
def test_schema_problems_point_at_the_offending_line(
    runtime: Runtime, tmp_path: Path, item: str, token: str, fragments: list[str]
) -> None:
    code, err = validate(runtime, tmp_path, item)
    assert code == ExitCode.USAGE
    assert f"{position_of(tmp_path / 'playbook.yaml', token)}: error:" in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize(
    ("request_text", "fragments"),
    [
        (
            '{"inputs": [\n  {"name": "a",, }]}',
            ["`requestFile` request.json:2:16 is not JSON", "the JSON body of POST /v2/models/NAME/infer"],
        ),
        (
            json.dumps({"inputs": [{"name": "a", "shape": [1, 4], "datatype": "FP64", "data": [1, 2]}]}),
            ["input 'a' has 2 value(s) but shape [1, 4] holds 4", "make data and shape agree"],
        ),
        (
            json.dumps({"input": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}]}),
            ["unknown key 'input' in the request", "the request needs `inputs`"],
        ),
        (
            json.dumps({"inputs": [{"name": "a", "shape": [2], "datatype": "INT64", "data": [1, 2.5]}]}),
            ["input 'a' is INT64 but holds 2.5"],
        ),
    ],
)
def test_a_request_file_that_is_not_a_v2_request_fails_at_the_item(
    runtime: Runtime, tmp_path: Path, request_text: str, fragments: list[str]
) -> None:
    (tmp_path / "request.json").write_text(request_text)
    code, err = validate(
        runtime, tmp_path, f"inference:\n  url: {URL}\n  model: m\n  requestFile: request.json"
    )
    assert code == ExitCode.USAGE
    assert "playbook.yaml:9:13: error: checklist 'serving', item 'model-answers':" in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_an_inline_request_whose_data_and_shape_disagree_fails_at_load(
    runtime: Runtime, tmp_path: Path
) -> None:
    code, err = validate(
        runtime,
        tmp_path,
        f"inference:\n  url: {URL}\n  model: m\n"
        "  request: {inputs: [{name: a, shape: [2, 4], datatype: FP64, data: [1, 2, 3]}]}",
    )
    assert code == ExitCode.USAGE
    assert "input 'a' has 3 value(s) but shape [2, 4] holds 8" in err, err


def test_a_missing_request_file_names_it(runtime: Runtime, tmp_path: Path) -> None:
    code, err = validate(
        runtime, tmp_path, f"inference:\n  url: {URL}\n  model: m\n  requestFile: nowhere.json"
    )
    assert code == ExitCode.USAGE
    assert "`requestFile` nowhere.json cannot be read" in err
    assert "relative to the playbook's directory" in err


def test_the_service_proxy_refuses_an_authorization_header_it_would_drop(
    runtime: Runtime, tmp_path: Path
) -> None:
    code, err = validate(
        runtime,
        tmp_path,
        f"""
        inference:
          service: {{namespace: seldon-mesh, name: seldon-mesh, port: 80}}
          headers: {{Authorization: "Bearer abc.def.ghi"}}
          model: m
          request: {GOOD_REQUEST}
        """,
    )
    assert code == ExitCode.USAGE
    assert "the API server's proxy removes the Authorization header" in err
    assert "abc.def.ghi" not in err
