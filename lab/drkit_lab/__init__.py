"""The local lab: a Kubernetes-API-compatible server, controllers, a real MLflow server and a demo platform.

The lab is just another cluster. drkit reaches it through a kubeconfig exactly as it reaches a real one, so
drkit never imports this package (its CLI finds `drkit lab` through the `drkit.commands` entry point), and no
core code special-cases it. It is a distribution of its own, drkit-lab (`pip install 'drkit[lab]'`), with its
own error root (drkit_lab.errors), and it uses nothing of drkit but its version: import-linter contracts
check both directions. It exists so drills, tests and benchmarks run without Docker or a cloud account.
"""
