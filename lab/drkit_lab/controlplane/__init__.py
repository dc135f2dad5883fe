"""The real Kubernetes control plane of the lab: built from the Go module proxy, run on loopback."""
