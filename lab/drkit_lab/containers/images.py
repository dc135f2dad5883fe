"""The images the lab really runs, and how: today Seldon's MLServer, from the lab's MLServer environment.

A Program turns a container of a pod into a process. It takes what the container spec says (its env, its
volume mounts) and the pod's sandbox (address, volumes), as a container runtime would."""

from __future__ import annotations

from typing import Any

from drkit_lab.containers.runtime import ImageUnavailable, PodSandbox, ProcessSpec, Program
from drkit_lab.serving.environment import ServingEnvironment, find_serving
from drkit_lab.serving.mlserver import HTTP_PORT, mlserver_process

Obj = dict[str, Any]
MLSERVER_IMAGE = "seldonio/mlserver"


class MLServerProgram:
    """`seldonio/mlserver`: MLServer on the pod's address, its model repository the emptyDir the container
    mounts (the agent writes model-settings there), HTTP and gRPC ports from the container's env."""

    def __init__(self, serving: ServingEnvironment | None = None) -> None:
        self._serving = serving

    def process(self, pod: Obj, container: Obj, sandbox: PodSandbox) -> ProcessSpec:
        serving = self._serving or find_serving()
        if serving is None:
            raise ImageUnavailable(
                "ErrImagePull",
                f"{container.get('image')}: the lab's MLServer environment is not built; "
                "run `drkit lab build --serving` (or `make serving`)",
            )
        env = {str(e.get("name")): str(e.get("value", "")) for e in container.get("env") or [] if "name" in e}
        mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") in sandbox.volumes]
        if not mounts:
            raise ImageUnavailable(
                "CreateContainerConfigError", "the mlserver container mounts no emptyDir for its models"
            )
        repository = sandbox.volumes[str(mounts[0]["name"])]
        port = int(env.get("MLSERVER_HTTP_PORT", HTTP_PORT))
        spec = mlserver_process(serving, repository, sandbox.listen_address, http_port=port)
        return ProcessSpec(spec.argv, {**env, **spec.env})


def lab_programs() -> dict[str, Program]:
    return {MLSERVER_IMAGE: MLServerProgram()}
