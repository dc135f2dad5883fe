"""One drill per cluster: a `coordination.k8s.io` Lease that a running drill or recovery holds and renews.

The run lock (drkit/engine/lock.py) only keeps two processes off one run directory; two drills started from
two laptops against one cluster would tear down each other's work. So a run that will write takes the Lease
`kube-system/drkit-drill` before its first step, as kube-controller-manager takes its own leader lease there,
renews it every `RENEW_SECONDS`, and deletes it when it ends. Another run finding it held refuses (exit 3,
naming the holder, its run and since when) without writing anything. A holder that stopped renewing (killed,
its machine gone) is taken over once `LEASE_SECONDS` have passed since its last renewal; the resume of the
holder's own run takes it back at once. Expiry compares the holder's renewTime with this machine's clock:
clocks that disagree by more than a few seconds shorten or lengthen the wait, never the refusal itself.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drkit.context import Runtime
from drkit.engine.run_errors import FailedBeforeFirstStep
from drkit.errors import RefusedError, UnreachableError
from drkit.kube.client import Cluster
from drkit.kube.errors import Conflict, Forbidden, KubeError
from drkit.kube.refs import ObjectRef

API_VERSION = "coordination.k8s.io/v1"
NAMESPACE = "kube-system"  # every cluster has it, and leader-election leases live there
NAME = "drkit-drill"
LEASE_SECONDS = 30  # how long after its last renewal a holder's lease may be taken over
RENEW_SECONDS = 10  # a third of the lease: two renewals may fail before anyone may take over
RUN_ID_ANNOTATION = "drkit.io/run-id"
PLAYBOOK_ANNOTATION = "drkit.io/playbook"
REF = ObjectRef(API_VERSION, "Lease", NAMESPACE, NAME)


@dataclass(frozen=True)
class Holder:
    """Who holds the Lease, as its object says."""

    identity: str
    run_id: str
    playbook: str
    acquired: datetime | None
    renewed: datetime | None
    duration: int

    @classmethod
    def of(cls, lease: dict[str, Any]) -> Holder:
        spec = lease.get("spec") or {}
        notes = (lease.get("metadata") or {}).get("annotations") or {}
        return cls(
            identity=str(spec.get("holderIdentity") or ""),
            run_id=str(notes.get(RUN_ID_ANNOTATION) or ""),
            playbook=str(notes.get(PLAYBOOK_ANNOTATION) or ""),
            acquired=_parse_time(spec.get("acquireTime")),
            renewed=_parse_time(spec.get("renewTime")),
            duration=int(spec.get("leaseDurationSeconds") or LEASE_SECONDS),
        )

    def expired(self, now: float) -> bool:
        """No holder, or its last renewal is older than its lease duration."""
        if not self.identity or self.renewed is None:
            return True
        return self.renewed.timestamp() + self.duration < now

    def describe(self, now: float) -> str:
        since = _format_time(self.acquired) if self.acquired else "an unknown time"
        renewed = f"{now - self.renewed.timestamp():.0f} s ago" if self.renewed else "never"
        playbook = f" of playbook {self.playbook!r}" if self.playbook else ""
        return f"run {self.run_id or '?'}{playbook} ({self.identity}), since {since}, last renewed {renewed}"


class DrillLease:
    """The Lease of one run: acquire before the first step, `lost()` between steps, release at the end."""

    def __init__(self, cluster: Cluster, runtime: Runtime, run_id: str, playbook: str) -> None:
        self._cluster = cluster
        self._runtime = runtime
        self.run_id = run_id
        self.playbook = playbook
        user = runtime.env.get("USER") or runtime.env.get("LOGNAME") or "unknown"
        self.identity = f"drkit {run_id} {user}@{socket.gethostname()} pid {os.getpid()}"
        self._version = ""
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- taking and giving back --

    def acquire(self) -> None:
        """Take the Lease, or raise RefusedError naming the live holder (nothing written then)."""
        try:
            self._acquire()
        except UnreachableError as exc:  # exit 5: the cluster did not answer before the first step
            raise FailedBeforeFirstStep(f"cannot take the drill lease {NAMESPACE}/{NAME}", exc) from exc
        except Forbidden as exc:
            raise RefusedError(
                f"drkit may not hold the drill lease {NAMESPACE}/{NAME}, so it will not start: {exc.message}",
                hint=(
                    "grant a Role in kube-system: {apiGroups: [coordination.k8s.io], resources: [leases], "
                    "verbs: [create]} and, with resourceNames: [drkit-drill], verbs: [get, update, delete]"
                ),
            ) from exc

    def _acquire(self) -> None:
        for _ in range(3):
            current = self._cluster.get(API_VERSION, "Lease", NAME, NAMESPACE)
            now = self._runtime.wall_clock()
            try:
                if current is None:
                    self._version = self._write(self._body(now, transitions=0, acquired=now), create=True)
                else:
                    self._take_over(current, now)
            except Conflict:
                continue  # someone else wrote it between our read and our write: read again and decide
            if not self._version:
                continue  # what the write returned is another run's lease (it won a race): read again
            self._start_renewing()
            return
        raise RefusedError(
            f"could not take the drill lease {NAMESPACE}/{NAME}: it kept changing while drkit tried",
            hint="another drill is starting against this cluster; wait for it, then try again",
        )

    def _take_over(self, current: dict[str, Any], now: float) -> None:
        holder = Holder.of(current)
        mine = holder.run_id == self.run_id  # the resume of the holder's own run
        if not mine and not holder.expired(now):
            assert holder.renewed is not None
            free_at = _format_time(datetime.fromtimestamp(holder.renewed.timestamp() + holder.duration, UTC))
            raise RefusedError(
                f"another drill holds this cluster: {holder.describe(now)}; "
                f"drkit changed nothing (lease {NAMESPACE}/{NAME})",
                hint=(
                    "wait for that run to finish; if it was killed, its lease expires at "
                    f"{free_at} ({holder.duration} s after its last renewal) and this run may then start"
                ),
            )
        spec = current.get("spec") or {}
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if mine else 1)
        acquired = holder.acquired.timestamp() if mine and holder.acquired else now
        body = self._body(now, transitions=transitions, acquired=acquired)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        self._version = self._write(body, create=False)

    def release(self) -> None:
        """Stop renewing; delete the Lease if it is still ours (failing to only costs the next run a wait)."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        with self._lock:
            if self._lost is not None or not self._version:
                return
            # Changed since (then not ours), or unreachable: either way it expires by itself.
            with contextlib.suppress(KubeError):
                self._cluster.delete(REF, precondition_rv=self._version)
            self._version = ""

    def lost(self) -> str | None:
        """Why the run no longer holds the Lease (another run took it over), or None while it does."""
        with self._lock:
            return self._lost

    # -- renewing --

    def _start_renewing(self) -> None:
        self._renewer = threading.Thread(target=self._renew_loop, name="drill-lease", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            try:
                self.renew()
            except KubeError:
                continue  # transient: the next renewal tries again, well before the lease runs out
            if self.lost() is not None:
                return

    def renew(self) -> None:
        """Move renewTime forward; finding another holder marks the Lease lost."""
        with self._lock:
            if self._lost is not None or not self._version:
                return
            current = self._cluster.get(API_VERSION, "Lease", NAME, NAMESPACE)
            now = self._runtime.wall_clock()
            if current is None or Holder.of(current).identity != self.identity:
                who = "nobody (it was deleted)" if current is None else Holder.of(current).describe(now)
                self._lost = f"the drill lease {NAMESPACE}/{NAME} is now held by {who}"
                return
            body = dict(current)
            body["spec"] = {**(current.get("spec") or {}), "renewTime": _micro_time(now)}
            try:
                self._version = self._write(body, create=False)
            except Conflict:
                return  # changed under us: the next renewal reads it again and sees who holds it

    # -- the object --

    def _body(self, now: float, *, transitions: int, acquired: float) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": "Lease",
            "metadata": {
                "name": NAME,
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "drkit"},
                "annotations": {RUN_ID_ANNOTATION: self.run_id, PLAYBOOK_ANNOTATION: self.playbook},
            },
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": LEASE_SECONDS,
                "acquireTime": _micro_time(acquired),
                "renewTime": _micro_time(now),
                "leaseTransitions": transitions,
            },
        }

    def _write(self, body: dict[str, Any], *, create: bool) -> str:
        """The resourceVersion of our write, or "" when the object written back is not ours (a repeated
        create whose 409 the client resolved by reading another run's lease back)."""
        written = self._cluster.create(body) if create else self._cluster.replace(body)
        if Holder.of(written).identity != self.identity:
            return ""
        return str(written["metadata"]["resourceVersion"])


def _micro_time(seconds: float) -> str:
    """Kubernetes MicroTime: RFC 3339 with microseconds, UTC."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
