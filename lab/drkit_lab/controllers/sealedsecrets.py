"""The SealedSecrets controller: SealedSecrets become Secrets only when a restored key can open them.

Keys are the kubernetes.io/tls Secrets in kube-system labelled
`sealedsecrets.bitnami.com/sealed-secrets-key`, as with the real controller; a rebuilt cluster without its
old key decrypts nothing, and the SealedSecret says so (`Synced=False`, "no key could decrypt secret
(...)"). That is the DR hazard a drill must check before applying. When a key Secret appears later, every
SealedSecret is retried."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from drkit_lab.apiserver.types import ResourceType
from drkit_lab.controllers.base import Operator
from drkit_lab.controllers.conditions import copy_conditions, put_condition, rfc3339
from drkit_lab.controllers.support import (
    Obj,
    get_or_none,
    is_deleting,
    is_owned_by,
    owner_reference,
    write_status,
)
from drkit_lab.sealing import SEALING_KEY_LABEL, SEALING_KEY_NAMESPACE, SealingError, unseal

GROUP = "bitnami.com"
API_VERSION = "bitnami.com/v1alpha1"


class SealedSecretsController(Operator):
    """Unseals SealedSecrets into Secrets (see the module docstring)."""

    name = "sealed-secrets"
    watches = ((GROUP, "SealedSecret"), ("", "Secret"))

    def reconcile(self, rt: ResourceType, namespace: str | None, name: str) -> float | None:
        if rt.kind == "Secret":
            if namespace == SEALING_KEY_NAMESPACE:
                self._key_changed(namespace, name)
            return None
        obj = get_or_none(self.api, rt, namespace, name)
        if obj is None or is_deleting(obj):
            return None
        self._sync(rt, obj)
        return None

    def _secret_rt(self) -> ResourceType:
        return self.api.require("v1", "Secret")  # a built-in kind

    def _private_keys(self) -> list[bytes]:
        secrets, _ = self.api.list(self._secret_rt(), SEALING_KEY_NAMESPACE)
        keys = []
        for secret in secrets:
            if SEALING_KEY_LABEL not in (secret["metadata"].get("labels") or {}):
                continue
            encoded = (secret.get("data") or {}).get("tls.key")
            if not encoded:
                continue
            try:
                keys.append(base64.b64decode(encoded))
            except (binascii.Error, ValueError):
                continue
        return keys

    def _key_changed(self, namespace: str, name: str) -> None:
        secret = get_or_none(self.api, self._secret_rt(), namespace, name)
        if secret is not None and SEALING_KEY_LABEL not in (secret["metadata"].get("labels") or {}):
            return
        sealed_rt = self.api.resource(API_VERSION, "SealedSecret")
        if sealed_rt is None:
            return
        for sealed in self.api.list(sealed_rt, None)[0]:
            if not is_deleting(sealed):
                self._sync(sealed_rt, sealed)

    def _unseal(self, sealed: Obj) -> dict[str, bytes] | None:
        for key in self._private_keys():
            try:
                return unseal(key, sealed)
            except SealingError:
                continue
        return None

    def _sync(self, rt: ResourceType, sealed: Obj) -> None:
        now = rfc3339()
        status: Obj = {"conditions": copy_conditions(sealed)}
        problem = self._apply_secret(sealed)
        if problem:
            put_condition(status["conditions"], "Synced", "False", "ErrUnsealFailed", problem, now)
        else:
            put_condition(status["conditions"], "Synced", "True", "", "", now)
        for cond in status["conditions"]:
            cond.setdefault("lastUpdateTime", now)
        status["observedGeneration"] = sealed["metadata"].get("generation", 1)
        write_status(self.api, rt, sealed, status)

    def _apply_secret(self, sealed: Obj) -> str | None:
        """Create or update the Secret; the problem when it cannot (never a value)."""
        names = ", ".join(sorted((sealed.get("spec") or {}).get("encryptedData") or {}))
        data = self._unseal(sealed)
        if data is None:
            return f"no key could decrypt secret ({names})"
        desired = self._secret_for(sealed, data)
        secret_rt = self._secret_rt()
        namespace, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
        current = get_or_none(self.api, secret_rt, namespace, name)
        if current is None:
            self.api.create(secret_rt, desired)
            return None
        if not is_owned_by(current, sealed):
            return "Resource already exists and is not managed by SealedSecret"

        def change(live: Obj) -> Obj | None:
            updated = live | {"data": desired["data"], "type": desired["type"]}
            updated["metadata"] = live["metadata"] | {
                "labels": desired["metadata"].get("labels", {}),
                "annotations": desired["metadata"].get("annotations", {}),
            }
            return None if updated == live else updated

        self.api.mutate(secret_rt, namespace, name, change)
        return None

    def _secret_for(self, sealed: Obj, data: dict[str, bytes]) -> Obj:
        template: Obj = (sealed.get("spec") or {}).get("template") or {}
        template_meta: dict[str, Any] = template.get("metadata") or {}
        meta: Obj = {
            "name": sealed["metadata"]["name"],
            "namespace": sealed["metadata"]["namespace"],
            "labels": dict(template_meta.get("labels") or {}),
            "annotations": dict(template_meta.get("annotations") or {}),
            "ownerReferences": [owner_reference(sealed)],
        }
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": template.get("type") or "Opaque",
            "data": {key: base64.b64encode(value).decode("ascii") for key, value in sorted(data.items())},
        }
