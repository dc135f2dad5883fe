"""The `drkit models rewrite` use case: seed 003's update_model_uris.py, done right.

Same resolution and atomic write as the `modelUris` step (drkit.steps.model_uris), without a playbook: the
command line names the server, the files and the variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drkit.context import Runtime
from drkit.domain.model_resolution import (
    DEFAULT_STORAGE_ROOT,
    RewriteOptions,
    RewritePlan,
    resolve_rewrite,
    write_plan,
)
from drkit.errors import UsageError
from drkit.manifests import expand_paths
from drkit.mlflow import MlflowClient, MlflowSettings


@dataclass(frozen=True)
class RewriteRequest:
    paths: tuple[str, ...]
    mlflow_url: str | None  # None: $MLFLOW_TRACKING_URI
    variants: tuple[str, ...] = ()
    storage_root: str = DEFAULT_STORAGE_ROOT
    dry_run: bool = False
    ca_bundle: Path | None = None
    verify_tls: bool = True


@dataclass(frozen=True)
class RewriteOutcome:
    plan: RewritePlan
    written: tuple[Path, ...]
    mlflow_url: str

    @property
    def ok(self) -> bool:
        return not self.plan.failures


def rewrite_models(request: RewriteRequest, runtime: Runtime) -> RewriteOutcome:
    """Resolve every opted-in Model of the files; unless dry_run and all resolved, write them atomically."""
    url = request.mlflow_url or runtime.env.get("MLFLOW_TRACKING_URI")
    if not url:
        raise UsageError(
            "no MLflow server given", hint="pass --mlflow-endpoint URL or set MLFLOW_TRACKING_URI"
        )
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"the MLflow endpoint {url!r} is not an http:// or https:// URL")
    files = expand_paths(list(request.paths), runtime.cwd)
    settings = MlflowSettings(url, verify_tls=request.verify_tls, ca_bundle=request.ca_bundle)
    with MlflowClient(settings, runtime.env, runtime.sleep) as client:
        options = RewriteOptions(storage_root=request.storage_root, variants=request.variants)
        plan = resolve_rewrite(client, files, options)
    written: tuple[Path, ...] = ()
    if not request.dry_run and not plan.failures:
        written = tuple(write_plan(plan))
    return RewriteOutcome(plan, written, client.display_url)
