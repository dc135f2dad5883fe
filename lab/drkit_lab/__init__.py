"""The local lab: a Kubernetes-API-compatible server, controllers, a real MLflow server and a demo platform.

The lab is just another cluster. drkit reaches it through a kubeconfig exactly as it reaches a real one, so
nothing outside `drkit_lab` and `drkit.cli` imports this package (an import-linter contract checks it), and no
core code special-cases it. It exists so drills, tests and benchmarks run without Docker or a cloud account.
"""
