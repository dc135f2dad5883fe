"""Building the test platform and playbooks for the apply/delete end-to-end tests.

Everything here works against any cluster reachable through a kubeconfig, except the helpers whose names start
with `lab_`: they reach into a lab (install its sealing key, stop a controller, read its request log), so only
tests marked `lab_only` use them (they get the lab from `E2ECluster.lab`).
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

from e2e_cluster import LAB_CONTEXT
from lab_helpers import REPO_ROOT, LabHandle
from model_helpers import save_small_model

CRD_DIR = REPO_ROOT / "lab" / "drkit_lab" / "platforms" / "crds"
BASE_DIR = REPO_ROOT / "manifests" / "financial-mlops" / "base"


def write_platform(tmp_path: Path) -> Path:
    """A kustomization in tmp_path with the CRDs and the financial-mlops base together (CRDs applied in the
    same apply as their custom resources), the Models pointing at a local MLmodel directory so they can load.
    Returns the kustomization's directory."""
    crds = tmp_path / "crds"
    crds.mkdir()
    names = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        shutil.copy(path, crds / path.name)
        names.append(path.name)
    (crds / "kustomization.yaml").write_text(
        "resources:\n" + "".join(f"  - {n}\n" for n in names), encoding="utf-8"
    )
    model_dir = save_small_model(tmp_path / "model")
    platform = tmp_path / "platform"
    platform.mkdir()
    patches = "".join(
        textwrap.dedent(
            f"""\
              - target: {{kind: Model, name: {name}}}
                patch: |-
                  - op: replace
                    path: /spec/storageUri
                    value: file://{model_dir}
            """
        )
        for name in ("baseline-predictor", "enhanced-predictor")
    )
    base = os.path.relpath(BASE_DIR, platform)  # kustomize refuses absolute paths to bases
    (platform / "kustomization.yaml").write_text(
        f"resources:\n  - ../crds\n  - {base}\npatches:\n{textwrap.indent(patches, '  ')}",
        encoding="utf-8",
    )
    return platform


def playbook(steps: str, *, protected: str = "", context: str = LAB_CONTEXT) -> str:
    """A playbook with one phase `main` holding `steps` (YAML list items, already indented by 6), targeting
    `context` (pass `E2ECluster.context`)."""
    extra = f"\n  protectedNamespaces: [{protected}]" if protected else ""
    return (
        "apiVersion: drkit.io/v1\nkind: Playbook\nmetadata: {name: e2e-apply-delete}\n"
        f"target:\n  contexts: [{context}]{extra}\n"
        "phases:\n  - name: main\n    steps:\n" + steps
    )


def lab_install_sealing_key(handle: LabHandle) -> None:
    """Lab only: the SealedSecrets key a real platform restores before anything is unsealed."""
    from drkit_lab.platforms import create_or_replace  # noqa: PLC0415 (lab-only)
    from drkit_lab.sealing import lab_sealing_key, sealing_key_secret  # noqa: PLC0415

    with handle.lab.api("lab-bootstrap") as api:
        create_or_replace(api, sealing_key_secret(*lab_sealing_key()))


def lab_stop_controller(handle: LabHandle, name: str) -> None:
    """Lab only: take a controller down, as a crashed operator would be."""
    handle.lab.update_faults({"down_controllers": [name]})


def lab_request_count(handle: LabHandle) -> int:
    """Lab only: how many lines the lab's request log holds now."""
    path = handle.lab.state.request_log
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def lab_requests_since(handle: LabHandle, start: int) -> list[dict[str, object]]:
    path = handle.lab.state.request_log
    lines = path.read_text(encoding="utf-8").splitlines()[start:]
    return [json.loads(line) for line in lines if line.strip()]
