"""Real model serving in the lab: MLServer in an environment of its own, run by the lab's kubelet as the
`mlserver` container of each Seldon Server pod, under the container's memory limit."""
