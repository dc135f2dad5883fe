"""The kubeconfig that points kubectl, the official client and drkit at the lab.

It is an ordinary kubeconfig (context `drkit-lab`, CA data inline, a bearer token), so nothing that reads it
needs to know it is talking to the lab. The file holds a credential: it is written with mode 0600.
"""

from __future__ import annotations

import base64
import io
import secrets
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

CONTEXT_NAME = "drkit-lab"


def new_token() -> str:
    """A random bearer token for one lab (the API server accepts only this one)."""
    return secrets.token_urlsafe(32)


def render_kubeconfig(
    *, server: str, ca_pem: bytes | None, token: str, namespace: str = "default", context: str = CONTEXT_NAME
) -> str:
    """Kubeconfig YAML for one cluster/user/context; `ca_pem` None means plain HTTP (`--insecure-http`)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-admin", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": f"{context}-admin", "namespace": namespace},
            }
        ],
        "current-context": context,
    }
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(doc, out)
    return out.getvalue()


def write_kubeconfig(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(content, encoding="utf-8")
    return path
