"""Commands that never open a cluster must not import the `kubernetes` library.

It is half of drkit's start-up (docs/performance.md), and start-up is most of what drkit adds to a recovery.
The check runs in a fresh interpreter: the test session itself has long imported kubernetes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import REPO_ROOT, SOURCE_ROOTS

COMMAND_ONLY_PLAYBOOK = """
apiVersion: drkit.io/v1
kind: Playbook
metadata: {name: no-cluster}
rto: 1m
phases:
  - name: rebuild
    steps:
      - name: build
        command: {run: "echo building"}
      - check: health
checklists:
  health:
    - name: always
      command: {run: "true"}
"""

# Runs in the child: every command through the real CLI boundary, then reports what got imported.
CHILD = textwrap.dedent(
    """
    import json, sys
    import drkit.cli
    from drkit.steps.registry import STEP_KINDS, step_schemas, probe_schemas
    step_schemas(); probe_schemas()
    codes = {}
    for name, argv in [
        ("help", ["--help"]),
        ("validate-main", ["validate", sys.argv[1]]),
        ("validate", ["validate", sys.argv[2]]),
        ("schema", ["schema", "--file", sys.argv[3]]),
        ("plan", ["plan", sys.argv[2]]),
        ("drill", ["drill", sys.argv[2], "--yes"]),
    ]:
        codes[name] = drkit.cli.run(argv)
    loaded = sorted(m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes."))
    lab = sorted(m for m in sys.modules if m.split(".")[0] == "drkit_lab")
    print("@@" + json.dumps({"codes": codes, "kinds": len(STEP_KINDS), "kubernetes": loaded, "lab": lab}))
    """
)


def test_commands_without_cluster_steps_do_not_import_kubernetes(tmp_path: Path) -> None:
    playbook = tmp_path / "no-cluster.yaml"
    playbook.write_text(COMMAND_ONLY_PLAYBOOK.lstrip(), encoding="utf-8")
    main_playbook = REPO_ROOT / "playbooks" / "financial-mlops.yaml"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(main_playbook), str(playbook), str(tmp_path / "schema.json")],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "DRKIT_HOME": str(tmp_path / ".drkit"),
            "PYTHONPATH": os.pathsep.join(SOURCE_ROOTS),  # this checkout's drkit (and lab, for --help)
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("@@"))
    result = json.loads(line[2:])
    # Every command did its work (a failing command would prove nothing about imports)...
    assert result["codes"] == dict.fromkeys(result["codes"], 0), proc.stdout + proc.stderr
    assert result["kinds"] >= 10
    assert json.loads((tmp_path / "schema.json").read_text())
    # ...and none of them needed the library, nor the lab (`--help` lists `drkit lab` from its entry point).
    assert result["kubernetes"] == []
    assert result["lab"] == []


def test_opening_a_cluster_still_loads_the_library_lazily(tmp_path: Path) -> None:
    """The lazy imports are where they are needed: a Cluster on a kubeconfig works in a fresh process."""
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        textwrap.dedent(
            """
            apiVersion: v1
            kind: Config
            current-context: nowhere
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
            users: [{name: u, user: {token: not-a-secret}}]
            contexts: [{name: nowhere, context: {cluster: c, user: u, namespace: ops}}]
            """
        ).lstrip(),
        encoding="utf-8",
    )
    child = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from drkit.kube import Cluster, ClusterConfig, current_context
        config = ClusterConfig(kubeconfig=(Path(sys.argv[1]),))
        assert current_context(config) == "nowhere"
        cluster = Cluster(config)
        print(cluster.context, cluster.default_namespace, cluster.host)
        cluster.close()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", child, str(kubeconfig)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["nowhere", "ops", "https://127.0.0.1:9"]
