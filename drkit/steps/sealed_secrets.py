"""The `sealedSecrets` step: restore SealedSecrets only once their key is back; prove the Secrets came out.

A rebuilt cluster can decrypt nothing unless the controller's sealing key (a Secret labelled
`sealedsecrets.bitnami.com/sealed-secrets-key` in the controller's namespace) was restored first; applying
SealedSecrets before that only produces `Synced=False` and a platform that fails later, far from the cause.
So the key is checked first, and without it nothing is applied. After applying, the step waits (watch) for
each SealedSecret to be `Synced=True` and for each expected Secret to hold exactly the expected keys (seed
003: "Secret does not have 1 key"). Only key NAMES are ever looked at or reported, never values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from drkit.errors import StepFailure
from drkit.kube import Cluster, ObjectRef, wait_for
from drkit.playbook.fields import Duration, Field, KindSchema, ListOf, Obj, Str
from drkit.playbook.model import StepSpec
from drkit.steps.access import APPLY, READ, AccessScope, StepAccess, of_manifests, on
from drkit.steps.base import StepContext, StepKind, StepPlan, StepResult, StepStatus
from drkit.steps.settings import as_mapping, opt_list, opt_number, opt_str, req_str, str_list
from drkit.steps.sources import SOURCE_FIELDS, Manifest, Source, check_source, parse_source, render

DEFAULT_TIMEOUT_SECONDS = 5 * 60.0
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
CONTROLLER_NAMESPACE = "kube-system"

EXPECTED_SECRET = Obj(
    description="A Secret the SealedSecrets must produce, with exactly these keys.",
    fields={
        "name": Field(Str(min_length=1), required=True, description="The Secret's name."),
        "namespace": Field(Str(min_length=1), required=True, description="Its namespace."),
        "keys": Field(ListOf(Str(min_length=1)), required=True, description="Exactly these key names."),
    },
)

BODY = Obj(
    description="Apply SealedSecrets once the sealing key is present; check the Secrets they produce.",
    fields={
        **SOURCE_FIELDS,
        "controllerNamespace": Field(
            Str(min_length=1),
            description="Where the controller and its key live (default kube-system).",
        ),
        "keyLabel": Field(Str(min_length=1), description=f"The sealing key's label (default {KEY_LABEL})."),
        "expectSecrets": Field(
            ListOf(EXPECTED_SECRET),
            description="Secrets that must exist with exactly these keys (default: one per SealedSecret, "
            "with its encryptedData keys).",
        ),
        "timeout": Field(
            Duration(positive=True),
            description="Time to wait for Synced and the Secrets (default: the step's timeout).",
        ),
    },
    exactly_one_of=(("kustomize", "files"),),
)

SCHEMA = KindSchema(
    kind="sealedSecrets",
    body=BODY,
    description="Check the SealedSecrets sealing key is restored, apply SealedSecrets, verify their Secrets.",
    examples=(
        {
            "files": ["secrets/seldon-rclone.sealed.yaml"],
            "expectSecrets": [
                {"name": "seldon-rclone-gs-public", "namespace": "seldon-mesh", "keys": ["rclone.conf"]}
            ],
        },
    ),
)


@dataclass(frozen=True)
class ExpectedSecret:
    namespace: str
    name: str
    keys: tuple[str, ...]

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("v1", "Secret", self.namespace, self.name)


@dataclass(frozen=True)
class SealedSecretsSettings:
    source: Source
    controller_namespace: str = CONTROLLER_NAMESPACE
    key_label: str = KEY_LABEL
    expect: tuple[ExpectedSecret, ...] = ()
    timeout: float | None = None


def parse_settings(body: object) -> SealedSecretsSettings:
    data = as_mapping(body, "sealedSecrets")
    expect = []
    for item in opt_list(data, "expectSecrets"):
        secret = as_mapping(item, "expectSecrets")  # EXPECTED_SECRET: name, namespace and keys required
        expect.append(
            ExpectedSecret(req_str(secret, "namespace"), req_str(secret, "name"), str_list(secret, "keys"))
        )
    timeout = data.get("timeout")
    return SealedSecretsSettings(
        source=parse_source(data),
        controller_namespace=opt_str(data, "controllerNamespace") or CONTROLLER_NAMESPACE,
        key_label=opt_str(data, "keyLabel") or KEY_LABEL,
        expect=tuple(expect),
        timeout=None if timeout is None else opt_number(data, "timeout", 0.0),
    )


def _is_sealed(manifest: Mapping[str, Any]) -> bool:
    return str(manifest.get("kind")) == "SealedSecret"


def produced_secret(sealed: Mapping[str, Any]) -> ExpectedSecret:
    """The Secret a SealedSecret produces: its template's name (default: its own) and its encrypted keys."""
    meta = sealed.get("metadata") or {}
    spec = sealed.get("spec") or {}
    template_meta = (spec.get("template") or {}).get("metadata") or {}
    return ExpectedSecret(
        namespace=str(template_meta.get("namespace") or meta.get("namespace") or ""),
        name=str(template_meta.get("name") or meta.get("name") or ""),
        keys=tuple(sorted(spec.get("encryptedData") or {})),
    )


def expected_secrets(manifests: Sequence[Manifest], settings: SealedSecretsSettings) -> list[ExpectedSecret]:
    """The explicit `expectSecrets`, plus the Secret of every SealedSecret they do not already name."""
    expected = {(e.namespace, e.name): e for e in settings.expect}
    for manifest in manifests:
        if _is_sealed(manifest):
            produced = produced_secret(manifest)
            expected.setdefault((produced.namespace, produced.name), produced)
    return list(expected.values())


def key_names(secret: Mapping[str, Any] | None) -> set[str]:
    """The names of a Secret's keys (never their values)."""
    if secret is None:
        return set()
    return set(secret.get("data") or {}) | set(secret.get("stringData") or {})


def key_mismatch(expected: ExpectedSecret, secret: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
    """(missing, unexpected) key names."""
    present = key_names(secret)
    wanted = set(expected.keys)
    return sorted(wanted - present), sorted(present - wanted)


def synced(obj: Mapping[str, Any] | None) -> bool:
    """Synced=True for the current generation."""
    if obj is None:
        return False
    status = obj.get("status") or {}
    observed = status.get("observedGeneration")
    generation = (obj.get("metadata") or {}).get("generation")
    if observed is not None and generation is not None and observed != generation:
        return False
    return _condition(obj, "Synced").get("status") == "True"


def _condition(obj: Mapping[str, Any] | None, kind: str) -> Mapping[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return {}


def sealing_keys(cluster: Cluster, settings: SealedSecretsSettings) -> list[str]:
    """Names of the sealing key Secrets present (their data is never kept)."""
    found = cluster.list("v1", "Secret", settings.controller_namespace, label_selector=settings.key_label)
    return sorted(str((s.get("metadata") or {}).get("name")) for s in found)


def missing_key_error(settings: SealedSecretsSettings, sealed: Sequence[ObjectRef] = ()) -> StepFailure:
    ns, label = settings.controller_namespace, settings.key_label
    names = ", ".join(str(ref) for ref in sealed[:10]) + (
        f" and {len(sealed) - 10} more" if len(sealed) > 10 else ""
    )
    stays = f"; {names} would stay sealed" if sealed else ""
    return StepFailure(
        f"no SealedSecrets sealing key in namespace {ns} (no Secret labelled {label}): after a rebuild the "
        f"controller can decrypt no SealedSecret unless its key was restored first{stays}; "
        "nothing was applied",
        hint=f"restore the key from its backup: `kubectl apply -f <backup of the key secret>` (taken with "
        f"`kubectl get secret -n {ns} -l {label} -o yaml`), then restart the SealedSecrets controller "
        f"(`kubectl -n {ns} rollout restart deployment sealed-secrets-controller`) and rerun",
    )


class SealedSecretsStep:
    def __init__(self, spec: StepSpec, settings: SealedSecretsSettings) -> None:
        self.spec = spec
        self.settings = settings

    def check_inputs(self, ctx: StepContext) -> None:
        check_source(self.settings.source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)

    def _render(self, ctx: StepContext) -> list[Manifest]:
        return render(self.settings.source, ctx.base_dir, ctx.runtime.env, monotonic=ctx.runtime.monotonic)

    def access(self, ctx: StepContext, scope: AccessScope) -> StepAccess:
        """Apply the SealedSecrets and wait for them; list the controller's sealing keys (their data is
        never read into the report); wait for the Secrets the controller makes."""
        manifests = self._render(ctx)
        s = self.settings
        secrets = {scope.namespace_of(e.namespace) for e in expected_secrets(manifests, s)}
        return of_manifests(manifests, APPLY, scope) + StepAccess(
            (
                on("v1", "Secret", ("list",), s.controller_namespace),
                *(on("v1", "Secret", READ, namespace) for namespace in sorted(secrets)),
            )
        )

    def plan(self, ctx: StepContext) -> StepPlan:
        manifests = self._render(ctx)
        keys = sealing_keys(ctx.cluster(), self.settings)
        key_line = (
            f"sealing key present in {self.settings.controller_namespace}: {', '.join(keys)}"
            if keys
            else f"sealing key MISSING in {self.settings.controller_namespace}: the step would fail "
            "before applying anything"
        )
        actions = [key_line]
        actions += [f"apply {ObjectRef.of(m)}" for m in manifests]
        actions += [
            f"expect Secret {e.namespace}/{e.name} with keys {', '.join(e.keys) or '(none)'}"
            for e in expected_secrets(manifests, self.settings)
        ]
        sealed = sum(1 for m in manifests if _is_sealed(m))
        return StepPlan(
            summary=f"would apply {sealed} SealedSecrets from {self.settings.source.describe()} and check "
            "their Secrets",
            actions=tuple(actions),
        )

    def run(self, ctx: StepContext) -> StepResult:
        cluster = ctx.cluster()
        manifests = self._render(ctx)
        keys = sealing_keys(cluster, self.settings)
        if not keys:
            raise missing_key_error(self.settings, [ObjectRef.of(m) for m in manifests if _is_sealed(m)])
        ctx.progress(f"sealing key present ({len(keys)}); applying {len(manifests)} objects")
        for manifest in manifests:
            cluster.apply(manifest)
        deadline = self._deadline(ctx)
        sealed_refs = [ObjectRef.of(m) for m in manifests if _is_sealed(m)]
        sync = wait_for(cluster, sealed_refs, synced, deadline)
        expected = expected_secrets(manifests, self.settings)
        ctx.progress(f"{len(sync.satisfied_at)}/{len(sealed_refs)} SealedSecrets synced; checking Secrets")

        def exact(obj: dict[str, Any] | None) -> bool:
            return obj is not None and key_names(obj) == set(by_ref[_ref_of(obj)].keys)

        by_ref = {e.ref: e for e in expected}
        secrets = wait_for(cluster, list(by_ref), exact, deadline) if by_ref else None
        return self._result(keys, sealed_refs, sync.last_seen, expected, secrets.last_seen if secrets else {})

    def _deadline(self, ctx: StepContext) -> float:
        now = ctx.runtime.monotonic()
        if self.settings.timeout is not None:
            return now + self.settings.timeout
        return ctx.deadline if ctx.deadline is not None else now + DEFAULT_TIMEOUT_SECONDS

    @staticmethod
    def _result(
        keys: list[str],
        sealed_refs: list[ObjectRef],
        sealed_seen: Mapping[ObjectRef, dict[str, Any] | None],
        expected: list[ExpectedSecret],
        secrets_seen: Mapping[ObjectRef, dict[str, Any] | None],
    ) -> StepResult:
        problems: list[str] = []
        sealed_rows: list[dict[str, object]] = []
        for ref in sealed_refs:
            obj = sealed_seen.get(ref)
            cond = _condition(obj, "Synced")
            ok = synced(obj)
            sealed_rows.append({"object": str(ref), "synced": ok, "message": str(cond.get("message") or "")})
            if not ok:
                why = cond.get("message") or ("not found" if obj is None else "no Synced condition yet")
                problems.append(f"{ref} is not Synced: {why}")
        secret_rows: list[dict[str, object]] = []
        for want in expected:
            secret = secrets_seen.get(want.ref)
            missing, unexpected = key_mismatch(want, secret)
            secret_rows.append(
                {
                    "secret": f"{want.namespace}/{want.name}",
                    "exists": secret is not None,
                    "keys": sorted(key_names(secret)),
                    "missingKeys": missing,
                    "unexpectedKeys": unexpected,
                }
            )
            if secret is None:
                problems.append(f"Secret {want.namespace}/{want.name} does not exist")
            elif missing or unexpected:
                parts = [f"missing keys {', '.join(missing)}"] if missing else []
                parts += [f"unexpected keys {', '.join(unexpected)}"] if unexpected else []
                problems.append(
                    f"Secret {want.namespace}/{want.name} does not have exactly the keys "
                    f"{', '.join(want.keys) or '(none)'}: {'; '.join(parts)}"
                )
        details: dict[str, object] = {
            "sealingKeys": keys,
            "sealedSecrets": sealed_rows,
            "secrets": secret_rows,
        }
        if problems:
            return StepResult(StepStatus.FAILED, "; ".join(problems), details)
        return StepResult(
            StepStatus.SUCCEEDED,
            f"{len(sealed_refs)} SealedSecrets synced; {len(expected)} Secrets have exactly their keys",
            details,
        )


def _ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    ref = ObjectRef.of(obj)
    return ObjectRef("v1", "Secret", ref.namespace, ref.name)


STEP_KIND = StepKind(
    schema=SCHEMA,
    build=lambda spec: SealedSecretsStep(spec, parse_settings(spec.body)),
    default_timeout=DEFAULT_TIMEOUT_SECONDS,
    needs_cluster=True,
)
