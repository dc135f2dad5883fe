"""Editing manifest files in place: find Seldon Model targets, rewrite storageUri, diff, write atomically.

Pure file work with ruamel (no cluster, no MLflow): the `modelUris` step combines it with drkit.mlflow.
"""

from drkit.manifests.atomic import write_all
from drkit.manifests.errors import ManifestError
from drkit.manifests.models import (
    EXPERIMENT_ANNOTATION,
    FILTER_ANNOTATION,
    MODEL_ANNOTATION,
    ModelTarget,
    expand_paths,
    find_models,
    read_text,
)
from drkit.manifests.rewrite import FileChange, rewrite_uris, unified_diff

__all__ = [
    "EXPERIMENT_ANNOTATION",
    "FILTER_ANNOTATION",
    "MODEL_ANNOTATION",
    "FileChange",
    "ManifestError",
    "ModelTarget",
    "expand_paths",
    "find_models",
    "read_text",
    "rewrite_uris",
    "unified_diff",
    "write_all",
]
