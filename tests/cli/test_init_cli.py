"""`drkit init` as a user runs it: a starter playbook valid at once, the schema beside it, and refusals that
touch nothing."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from helpers import RunDrkit
from ruamel.yaml import YAML

from drkit.context import Runtime
from drkit.engine.usecases import load

# What a real kubeconfig context can be called (EKS ARNs, GKE names), plus what YAML and drkit's variables
# would misread if it were pasted in unquoted: `#`, quotes, `${...}`, `: `.
AWKWARD_CONTEXT = 'arn:aws:eks:eu-west-1:123456789012:cluster/prod #2 "blue": ${green}'


# A context `c` on a server nothing listens on: a plan reads the kubeconfig and sends no request.
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: c, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: c}}]
current-context: c
"""


def runtime_in(cwd: Path) -> Runtime:
    return Runtime(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(), env={}, cwd=cwd)


def _load(path: Path) -> dict[str, object]:
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_init_writes_a_playbook_that_validates_and_the_schema_it_names(
    drkit: RunDrkit, tmp_path: Path
) -> None:
    result = drkit(
        "init", "recovery.yaml", "--context", "prod-east", "-n", "ml-serving", "--namespace", "ml-pipelines",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    playbook = tmp_path / "recovery.yaml"
    assert f"wrote {playbook}" in result.stdout
    validated = drkit("validate", "recovery.yaml", cwd=tmp_path)
    assert validated.exit_code == 0, validated.stderr
    assert validated.stdout == "recovery.yaml is valid: 1 phase, 1 step, 1 checklist\n"
    data = _load(playbook)
    assert data["metadata"] == {
        "name": "recovery",
        "description": "Recover ml-serving, ml-pipelines on the cluster context prod-east.",
    }
    assert data["target"] == {"contexts": ["prod-east"]}
    items = data["checklists"]["health"]["items"]  # type: ignore[index]
    assert [item["resource"] for item in items] == [
        {"apiVersion": "v1", "kind": "Namespace", "name": "ml-serving"},
        {"apiVersion": "v1", "kind": "Namespace", "name": "ml-pipelines"},
    ]
    # The editor comment names a file that exists beside the playbook: the schema `drkit schema` prints.
    (named,) = re.findall(r"^# yaml-language-server: \$schema=(\S+)$", playbook.read_text(), re.MULTILINE)
    schema = playbook.parent / named
    assert schema.is_file()
    assert schema.read_text(encoding="utf-8") == drkit("schema", cwd=tmp_path).stdout


def test_plan_of_the_starter_shows_its_checks(drkit: RunDrkit, tmp_path: Path) -> None:
    assert drkit("init", "p.yaml", "--context", "c", "-n", "ml", cwd=tmp_path).exit_code == 0
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG, encoding="utf-8")
    planned = drkit("plan", "p.yaml", "--recover", "--kubeconfig", str(kubeconfig), cwd=tmp_path)
    assert planned.exit_code == 0, planned.stderr
    assert "Namespace ml ready" in planned.stdout


def test_the_context_reaches_the_playbook_exactly_as_typed(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("init", "p.yaml", "--context", AWKWARD_CONTEXT, "-n", "ml", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert drkit("validate", "p.yaml", cwd=tmp_path).exit_code == 0
    # In the YAML `$${` is the literal of `${`: loaded by drkit, the context is the one the user gave.
    assert _load(tmp_path / "p.yaml")["target"] == {"contexts": [AWKWARD_CONTEXT.replace("${", "$${")]}
    playbook = load(Path("p.yaml"), {}, runtime_in(tmp_path))
    assert playbook.target.contexts == (AWKWARD_CONTEXT,)


def test_the_name_comes_from_the_file_unless_given(drkit: RunDrkit, tmp_path: Path) -> None:
    drkit("init", "Prod_East.Recovery.yaml", "--context", "c", "-n", "ml", cwd=tmp_path)
    assert _load(tmp_path / "Prod_East.Recovery.yaml")["metadata"]["name"] == "prod-east-recovery"  # type: ignore[index]
    drkit("init", "other.yaml", "--context", "c", "-n", "ml", "--name", "nightly-drill", cwd=tmp_path)
    assert _load(tmp_path / "other.yaml")["metadata"]["name"] == "nightly-drill"  # type: ignore[index]


def test_an_existing_playbook_is_not_overwritten_without_force(drkit: RunDrkit, tmp_path: Path) -> None:
    (tmp_path / "recovery.yaml").write_text("mine\n", encoding="utf-8")
    refused = drkit("init", "recovery.yaml", "--context", "c", "-n", "ml", cwd=tmp_path)
    assert refused.exit_code == 2
    assert "recovery.yaml exists already" in refused.stderr
    assert "--force" in refused.stderr
    assert (tmp_path / "recovery.yaml").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recovery.yaml"]  # no schema either
    forced = drkit("init", "recovery.yaml", "--context", "c", "-n", "ml", "--force", cwd=tmp_path)
    assert forced.exit_code == 0, forced.stderr
    assert drkit("validate", "recovery.yaml", cwd=tmp_path).exit_code == 0


def test_an_existing_schema_is_kept_without_force(drkit: RunDrkit, tmp_path: Path) -> None:
    (tmp_path / "playbook.schema.json").write_text("{}\n", encoding="utf-8")
    result = drkit("init", "a.yaml", "--context", "c", "-n", "ml", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "kept" in result.stdout
    assert (tmp_path / "playbook.schema.json").read_text(encoding="utf-8") == "{}\n"
    drkit("init", "b.yaml", "--context", "c", "-n", "ml", "--force", cwd=tmp_path)
    assert json.loads((tmp_path / "playbook.schema.json").read_text(encoding="utf-8"))["title"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--context", "c", "-n", "ML_Serving"],
            "--namespace 'ML_Serving' is not a Kubernetes namespace name",
        ),
        (["--context", "c", "-n", "x" * 64], "is not a Kubernetes namespace name"),
        (["--context", " ", "-n", "ml"], "--context must name a kubeconfig context"),
        (
            ["--context", "c", "-n", "ml", "--name", "Bad Name"],
            "--name 'Bad Name' is not a valid playbook name",
        ),
        (["--context", "c"], "Missing option '--namespace'"),
        (["-n", "ml"], "Missing option '--context'"),
    ],
    ids=["namespace-case", "namespace-length", "blank-context", "bad-name", "no-namespace", "no-context"],
)
def test_bad_input_is_a_usage_error_that_writes_nothing(
    drkit: RunDrkit, tmp_path: Path, args: list[str], message: str
) -> None:
    result = drkit("init", "sub/recovery.yaml", *args, cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_directory_is_not_a_playbook_path(drkit: RunDrkit, tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    result = drkit("init", "playbooks", "--context", "c", "-n", "ml", cwd=tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in result.stderr
    assert list((tmp_path / "playbooks").iterdir()) == []


def test_parent_directories_are_created(drkit: RunDrkit, tmp_path: Path) -> None:
    result = drkit("init", "ops/dr/recovery.yaml", "--context", "c", "-n", "ml", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "ops" / "dr" / "playbook.schema.json").is_file()
    assert drkit("validate", "ops/dr/recovery.yaml", cwd=tmp_path).exit_code == 0
