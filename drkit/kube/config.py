"""Which cluster drkit talks to: kubeconfig discovery, context selection, in-cluster credentials.

`current_context` answers without opening a connection, because the playbook's `target.contexts` safety
check must run before the first request. Paths come from the Runtime's env (KUBECONFIG, HOME), never from
os.environ.

In a Pod with no kubeconfig (KUBERNETES_SERVICE_HOST set), drkit uses the Pod's service account and calls
that context `in-cluster`: a playbook runs there only if its `target.contexts` lists `in-cluster`, as for any
other context, and `--context` naming anything else is an error rather than a silent switch.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from drkit.kube.errors import ConfigError
from drkit.playbook.suggest import did_you_mean

IN_CLUSTER_CONTEXT = "in-cluster"
# Where the kubelet mounts a Pod's service-account token, CA and namespace.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CERT_DIR_PREFIX = "drkit-kube-"  # the private directories of inline certificates, one per connection
# A client key file larger than this is not a key (RSA 8192 PEM is about 6 KiB): it is not read for masking.
_MAX_KEY_FILE_BYTES = 64 * 1024
_KUBECONFIG_HINT = "set KUBECONFIG or pass --kubeconfig (for the lab: `drkit lab up` prints the export line)"


@dataclass(frozen=True)
class ClusterConfig:
    """Where the credentials are. `kubeconfig` empty means in-cluster (a Pod's service account)."""

    kubeconfig: tuple[Path, ...] = ()
    context: str | None = None  # overrides the kubeconfig's current-context
    request_timeout: float = 30.0  # seconds for one non-watch request (connect + read)
    # In-cluster only: the API server's address from the Pod's env, and the mounted service account.
    service_host: str = ""
    service_port: str = ""
    service_account_dir: Path = SERVICE_ACCOUNT_DIR

    @property
    def in_cluster(self) -> bool:
        return not self.kubeconfig

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        *,
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        cwd: Path | None = None,
    ) -> ClusterConfig:
        """The kubeconfig kubectl would use: `kubeconfig`, $KUBECONFIG, ~/.kube/config, else in-cluster.
        Relative paths are taken from `cwd` (the Runtime's working directory; None: the process's)."""
        base = Path() if cwd is None else cwd
        if kubeconfig is not None:
            given = Path(kubeconfig).expanduser()
            if not (base / given).is_file():  # named on purpose: never fall back to another one or in-cluster
                state = "is not a file" if (base / given).exists() else "does not exist"
                raise ConfigError(f"kubeconfig {given} (--kubeconfig) {state}", hint=_KUBECONFIG_HINT)
            paths = [base / given]
        elif env.get("KUBECONFIG"):
            paths = [base / Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p]
        elif env.get("HOME"):
            paths = [Path(env["HOME"]) / ".kube" / "config"]
        else:
            paths = []
        existing = tuple(p for p in paths if p.is_file())
        if existing:
            return cls(kubeconfig=existing, context=context)
        if env.get("KUBERNETES_SERVICE_HOST"):
            return cls(
                kubeconfig=(),
                context=context,
                service_host=env["KUBERNETES_SERVICE_HOST"],
                service_port=env.get("KUBERNETES_SERVICE_PORT") or "443",
            )
        where = ", ".join(str(p) for p in paths) or "$KUBECONFIG or ~/.kube/config"
        raise ConfigError(f"no kubeconfig found at {where}", hint=_KUBECONFIG_HINT)

    @property
    def config_file_arg(self) -> str:
        """The form the kubernetes library accepts for several merged files."""
        return os.pathsep.join(str(p) for p in self.kubeconfig)


def _load_contexts(config: ClusterConfig) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    # The kubernetes library is imported only where it is used (here and below): it is half of drkit's
    # start-up, and commands that never look at a kubeconfig should not pay for it.
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415 - lazy: start-up
    from kubernetes.config.kube_config import list_kube_config_contexts  # noqa: PLC0415 - lazy: start-up

    try:
        contexts, active = list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=config.config_file_arg
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot read kubeconfig {config.config_file_arg}: {exc.strerror or type(exc).__name__}",
            hint="check the file's permissions, or pass another one with --kubeconfig",
        ) from None
    except (ConfigException, ValueError) as exc:
        raise ConfigError(
            f"cannot read kubeconfig {config.config_file_arg}: {type(exc).__name__}",
            hint="check that the file is a valid kubeconfig",
        ) from None
    except Exception as exc:  # yaml errors and other library failures must not escape the adapter
        raise ConfigError(f"cannot read kubeconfig {config.config_file_arg}: {type(exc).__name__}") from None
    return list(contexts or []), active


def _first_current_context(paths: tuple[Path, ...]) -> str | None:
    """kubectl's rule for merged kubeconfigs: the first file that sets current-context wins. (The kubernetes
    library takes the last one; following it would make drkit act on another cluster than kubectl.)"""
    yaml = YAML(typ="safe", pure=True)
    for path in paths:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: S112 - unreadable files were already reported by _load_contexts
            continue
        if isinstance(doc, dict) and doc.get("current-context"):
            return str(doc["current-context"])
    return None


def list_contexts(config: ClusterConfig) -> list[str]:
    if config.in_cluster:
        return [IN_CLUSTER_CONTEXT]
    contexts, _ = _load_contexts(config)
    return [str(c.get("name")) for c in contexts if c.get("name")]


def current_context(config: ClusterConfig) -> str:
    """The context drkit would use, checked to exist, without connecting to anything."""
    if config.in_cluster:
        if config.context not in (None, IN_CLUSTER_CONTEXT):
            raise ConfigError(
                f"context {config.context!r} is not defined: there is no kubeconfig here, only the Pod's "
                f"service account (context {IN_CLUSTER_CONTEXT!r})",
                hint=f"pass --context {IN_CLUSTER_CONTEXT}, or mount a kubeconfig and set KUBECONFIG",
            )
        return IN_CLUSTER_CONTEXT
    contexts, _ = _load_contexts(config)
    names = [str(c.get("name")) for c in contexts if c.get("name")]
    chosen = config.context or _first_current_context(config.kubeconfig)
    if chosen is None:
        raise ConfigError(
            f"kubeconfig {config.config_file_arg} has no current-context",
            hint=f"pass --context (one of: {', '.join(names) or 'none defined'})",
        )
    if chosen not in names:
        known = f"its contexts: {', '.join(names) or 'none'}"
        near = did_you_mean(chosen, names)
        raise ConfigError(
            f"context {chosen!r} is not defined in kubeconfig {config.config_file_arg}",
            hint=f"{near} ({known})" if near else known,
        )
    return chosen


def context_namespace(config: ClusterConfig) -> str:
    """The namespace the chosen context names (kubectl's default for namespaced objects without one); in a
    Pod, the Pod's own namespace, as kubectl there takes it."""
    if config.in_cluster:
        try:
            return (config.service_account_dir / "namespace").read_text(encoding="utf-8").strip() or "default"
        except OSError:
            return "default"
    contexts, _ = _load_contexts(config)
    chosen = current_context(config)
    for entry in contexts:
        if entry.get("name") == chosen:
            return str((entry.get("context") or {}).get("namespace") or "default")
    return "default"


REQUESTS_IN_FLIGHT = (
    8  # at most this many requests of one step at once: parallel enough, gentle on the server
)


def load_client_configuration(config: ClusterConfig, temp_dir: Path) -> Any:
    """A kubernetes `Configuration` for the chosen context. Inline certificate data is written under
    `temp_dir`, a private directory its caller removes when it is done with the connection."""
    from kubernetes.client import Configuration  # noqa: PLC0415 - lazy: start-up
    from kubernetes.config import load_kube_config  # noqa: PLC0415 - lazy: start-up
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415 - lazy: start-up
    from kubernetes.config.incluster_config import InClusterConfigLoader  # noqa: PLC0415 - lazy: start-up

    client_config = Configuration()
    try:
        if config.in_cluster:
            current_context(config)  # refuses a --context that is not `in-cluster`
            # The Runtime's env and the configured directory, not os.environ and the library's fixed paths;
            # the token file is read again as the kubelet rotates it.
            InClusterConfigLoader(  # type: ignore[no-untyped-call]
                token_filename=str(config.service_account_dir / "token"),
                cert_filename=str(config.service_account_dir / "ca.crt"),
                try_refresh_token=True,
                environ={
                    "KUBERNETES_SERVICE_HOST": config.service_host,
                    "KUBERNETES_SERVICE_PORT": config.service_port,
                },
            ).load_and_set(client_configuration=client_config)
        else:
            temp_dir.mkdir(parents=True, exist_ok=True)
            load_kube_config(  # type: ignore[no-untyped-call]
                config_file=config.config_file_arg,
                context=current_context(config),
                client_configuration=client_config,
                persist_config=False,
                temp_file_path=str(temp_dir),
            )
            _own_certificate_files(client_config, temp_dir)
    except ConfigError:
        raise
    except ConfigException as exc:
        if (
            config.in_cluster
        ):  # the library's fixed sentences ("Service token file does not exist."): no secret
            raise ConfigError(
                f"cannot load the Pod's service account from {config.service_account_dir}: {exc}",
                hint="mount the service-account token (automountServiceAccountToken), or set KUBECONFIG",
            ) from None
        raise ConfigError(
            f"cannot load credentials of context {config.context or 'current'}: {type(exc).__name__}",
            hint="check the kubeconfig's user entry (token, client certificate or exec plugin)",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load credentials of context {config.context or 'current'}: {type(exc).__name__}",
            hint="check the kubeconfig's user entry (token, client certificate or exec plugin)",
        ) from None
    # One retry layer only (drkit.kube.retry): urllib3 must not retry on its own.
    client_config.retries = False
    # Steps keep up to REQUESTS_IN_FLIGHT requests going (waves, finalizer clearing); the library's default
    # pool (5 per core) would drop and reopen TLS connections on a small machine.
    client_config.connection_pool_maxsize = max(
        REQUESTS_IN_FLIGHT, client_config.connection_pool_maxsize or 0
    )
    return client_config


def private_cert_dir() -> Path:
    """A new directory (mode 0700) for one connection's inline certificates; its owner removes it."""
    return Path(tempfile.mkdtemp(prefix=CERT_DIR_PREFIX))


def _own_certificate_files(client_config: Any, temp_dir: Path) -> None:
    """Point the configuration at copies in `temp_dir` of the certificate files another connection's directory
    holds. The library reuses the file it wrote for the same inline data earlier in the process, and that
    file goes when its connection closes. Files the kubeconfig names are left where they are."""
    for attribute in ("ssl_ca_cert", "cert_file", "key_file"):
        path = getattr(client_config, attribute, None)
        if not isinstance(path, str) or not path:
            continue
        parent = Path(path).parent
        if parent == temp_dir or not parent.name.startswith(CERT_DIR_PREFIX):
            continue
        fd, copy = tempfile.mkstemp(dir=temp_dir)  # mode 0600
        with os.fdopen(fd, "wb") as out:
            out.write(Path(path).read_bytes())
        setattr(client_config, attribute, copy)


def _authorization_secrets(header: str) -> list[str]:
    """`Bearer TOKEN` -> the token; `Basic B64` (the library's form of a kubeconfig's username/password) ->
    the encoded pair and the password in it."""
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return [credential.strip() if credential else header.strip()]
    try:
        _user, _, password = base64.b64decode(credential, validate=True).decode("utf-8").partition(":")
    except ValueError:
        return [credential]
    return [credential, password]


def credential_values(client_config: Any) -> list[str]:
    """The secrets of a loaded context, for masking: the bearer token (from the kubeconfig, a token file, an
    exec plugin or the Pod's service account), the basic-auth password, and the client key, as the PEM the
    library reads and as the base64 of it that `client-key-data` holds."""
    values: list[str] = []
    for value in (getattr(client_config, "api_key", None) or {}).values():
        if isinstance(value, str):
            values += _authorization_secrets(value)
    password = getattr(client_config, "password", None)
    if isinstance(password, str):
        values.append(password)
    key_file = getattr(client_config, "key_file", None)
    if isinstance(key_file, str) and key_file:
        try:
            path = Path(key_file)
            if path.stat().st_size <= _MAX_KEY_FILE_BYTES:
                key = path.read_bytes()
                values += [key.decode("utf-8", errors="replace"), base64.b64encode(key).decode("ascii")]
        except OSError:
            pass  # the library reports an unreadable key when it connects
    return values
