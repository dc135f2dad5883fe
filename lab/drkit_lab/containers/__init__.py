"""Containers the lab really runs: the runtime, the images it knows, memory cgroups."""
