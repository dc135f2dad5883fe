"""The procedures and rules that step kinds and the on-call commands share.

Below the steps and above the adapters: stuck-object diagnosis (`stuck`), finalizer clearing
(`finalizer_clearing`), which model a Seldon Model should serve (`model_resolution`), the checks on a model
artifact (`artifact_rules`), what an Argo Workflow's status says (`argo_status`), Kubernetes timestamps. They
know nothing of step plumbing (schemas, settings parsing, StepContext): a step kind turns its body into their
arguments, and `drkit finalizers` / `drkit models` call them directly.
"""
