"""Step and check kinds for the playbook tests, defined here so these tests do not depend on drkit.steps."""

from __future__ import annotations

from collections.abc import Mapping

from drkit.playbook.fields import (
    AnyValue,
    Bool,
    Duration,
    Field,
    Int,
    KindSchema,
    ListOf,
    MapOf,
    Obj,
    OneOf,
    Str,
)

STEP_KINDS: Mapping[str, KindSchema] = {
    "command": KindSchema(
        kind="command",
        description="Run a local program.",
        body=Obj(
            {
                "run": Field(Str(min_length=1), required=True, description="The command line."),
                "env": Field(MapOf(Str())),
                "expectExit": Field(Int(minimum=0, maximum=255), default=0),
                "shell": Field(Bool()),
                "password": Field(Str(secret=True)),
            }
        ),
        examples=({"run": "kubectl get pods"},),
    ),
    "http": KindSchema(
        kind="http",
        description="Call an HTTP endpoint.",
        body=Obj(
            {
                "url": Field(Str(pattern=r"https?://\S+"), required=True),
                "method": Field(Str(enum=("GET", "POST", "HEAD")), default="GET"),
                "interval": Field(Duration(positive=True)),
                "expect": Field(
                    Obj({"status": Field(Int(minimum=100, maximum=599)), "json": Field(AnyValue())})
                ),
            }
        ),
    ),
    "check": KindSchema(
        kind="check",
        description="Run a checklist.",
        body=OneOf(
            (
                Str(min_length=1, names_checklist=True),
                Obj(
                    {
                        "checklist": Field(Str(names_checklist=True), required=True),
                        "timeout": Field(Duration(positive=True)),
                    }
                ),
            )
        ),
    ),
    "apply": KindSchema(
        kind="apply",
        description="Apply manifests.",
        body=Obj(
            {
                "kustomize": Field(Str()),
                "files": Field(ListOf(Str(), min_items=1)),
                "wait": Field(Bool()),
            },
            exactly_one_of=(("kustomize", "files"),),
        ),
    ),
}

CHECK_KINDS: Mapping[str, KindSchema] = {
    "http": STEP_KINDS["http"],
    "command": STEP_KINDS["command"],
}

GOOD = """\
apiVersion: drkit.io/v1
kind: Playbook
metadata:
  name: lab-drill
  description: A small drill
target:
  contexts: [drkit-lab]
  protectedNamespaces: [mlflow]
vars:
  variant: baseline
  wait: 30s
  attempts: 3
  db_password: hunter2-secret
rto: 45m
phases:
  - name: teardown
    budget: 5m
    drillOnly: true
    steps:
      - command: {run: "echo ${variant}"}
        timeout: ${wait}
        retries: ${attempts}
      - name: apply-base
        apply: {kustomize: manifests/base}
        retries: {count: 2, delay: 5s}
        continueOnError: true
  - name: validate
    steps:
      - check: health
      - check: {checklist: health, timeout: 2m}
checklists:
  health:
    - name: mlflow-up
      http: {url: "http://localhost:5000/health", expect: {status: 200}}
    - command: {run: "true"}
  slow:
    timeout: 5m
    items:
      - http: {url: "http://localhost:8080/", interval: 2s}
"""
