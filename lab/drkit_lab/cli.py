"""`drkit lab ...`: start, inspect, break and stop the local lab.

Each command parses options, calls one function of the launcher/state/runner modules and prints the
result. drkit's CLI finds the `lab` group through this distribution's `drkit.commands` entry point and loads
it only when used (the lab pulls in cryptography); `python -m drkit_lab.cli` runs the group on its own. The
group is the boundary of the lab's own errors (drkit_lab.errors) either way: drkit's never sees them.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from ruamel.yaml import YAML

from drkit_lab import launcher
from drkit_lab.errors import EXIT_FAILED, EXIT_USAGE, LabError, LabUsageError
from drkit_lab.faults import FaultSettings
from drkit_lab.mlflow_server import MlflowAuth
from drkit_lab.sealing import lab_sealing_key
from drkit_lab.sealing import seal as seal_values
from drkit_lab.state import StateDir, admin_request, default_dir, read_lab_info
from drkit_lab.suggest import did_you_mean

F = TypeVar("F", bound=Callable[..., Any])


def _state(directory: Path | None) -> StateDir:
    return StateDir((directory or default_dir(os.environ)).resolve())


def _dir_option(func: F) -> F:
    return click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        help="Lab state directory (default: lab/ in drkit's state directory, ~/.local/state/drkit/lab).",
    )(func)


def _fault_options(func: F) -> F:
    """Fault options shared by `up` (initial faults) and `fault` (run-time changes); None: unchanged."""
    options = [
        click.option("--latency-ms", type=click.FloatRange(min=0), help="Delay added to every API request."),
        click.option(
            "--error-rate", type=click.FloatRange(0, 1), help="Fraction of requests answered with an error."
        ),
        click.option(
            "--error-codes", help="Comma-separated error codes to answer with (default 500,503,429)."
        ),
        click.option(
            "--drop-rate", type=click.FloatRange(0, 1), help="Fraction of connections closed without answer."
        ),
        click.option(
            "--watch-cut-after", type=click.FloatRange(min=0), help="Close watch streams after S s."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# ctx.meta key (meta is shared by every context of one invocation): the -o of the command being run.
_OUTPUT_META = "drkit_lab.output"


def _remember_output(ctx: click.Context, param: click.Parameter, value: str) -> str:
    ctx.meta[_OUTPUT_META] = value
    return value


def _output_option(func: F) -> F:
    """-o/--output: text for people, json for scripts (an error then is a JSON error object on stdout)."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        callback=_remember_output,
        help='json: one JSON document on stdout (an error as {"error": {...}}).',
    )(func)


class LabGroup(click.Group):
    """Reports the lab's errors as `error: ...` (and the hint) and exits with their code, so whichever CLI
    mounts the group sees an exit code only. With -o json the error is also a JSON object on stdout, as
    drkit's own commands print it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LabError as exc:
            click.echo(f"error: {exc}", err=True)
            if ctx.meta.get(_OUTPUT_META) == "json":
                kind = "usage" if exc.exit_code == EXIT_USAGE else "failed"
                error = {"exitCode": exc.exit_code, "kind": kind, "message": exc.message, "hint": exc.hint}
                click.echo(json.dumps({"error": error}, indent=2))
            ctx.exit(exc.exit_code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but each command's summary whole (wrapped, not cut at the terminal's width)."""
        rows = [
            (name, command.get_short_help_str(limit=10_000))
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(name="lab", cls=LabGroup)
def lab() -> None:
    """The local lab: a Kubernetes-API-compatible cluster with controllers and a real MLflow server."""


@lab.command()
@_dir_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=6443, show_default=True, help="API port (0: any)."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--control-plane",
    type=click.Choice(["emulated", "real"]),
    default="emulated",
    show_default=True,
    help="emulated: the in-memory API server (starts in a second); real: etcd, kube-apiserver and "
    "kube-controller-manager built from source (built once, about 8 minutes; see `drkit lab build`).",
)
@click.option("--no-mlflow", is_flag=True, help="Do not start the MLflow server.")
@click.option(
    "--mlflow-basic-auth",
    is_flag=True,
    help="Run MLflow's basic-auth app (needs mlflow[auth]): an admin user with a generated password, which "
    "`drkit lab env` exports as MLFLOW_TRACKING_USERNAME/PASSWORD.",
)
@click.option("--platform", type=click.Choice(["financial-mlops"]), help="Install a demo platform.")
@click.option("--insecure-http", is_flag=True, help="Serve plain HTTP instead of HTTPS.")
@click.option("--foreground", is_flag=True, help="Run in this terminal until Ctrl-C.")
@_fault_options
@click.option("--controller-down", multiple=True, metavar="NAME", help="Start with this controller down.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for fault randomness.")
@click.option("--workload-delay", type=click.FloatRange(min=0), help="Seconds until workloads are Ready.")
def up(
    *,
    directory: Path | None,
    port: int,
    host: str,
    control_plane: str,
    no_mlflow: bool,
    mlflow_basic_auth: bool,
    platform: str | None,
    insecure_http: bool,
    foreground: bool,
    latency_ms: float | None,
    error_rate: float | None,
    error_codes: str | None,
    drop_rate: float | None,
    watch_cut_after: float | None,
    controller_down: tuple[str, ...],
    seed: int,
    workload_delay: float | None,
) -> None:
    """Start the lab in the background and print how to reach it."""
    if platform and no_mlflow:
        raise LabUsageError("--platform needs MLflow (the platform's models are trained into it)")
    if mlflow_basic_auth and no_mlflow:
        raise LabUsageError("--mlflow-basic-auth and --no-mlflow exclude each other")
    if error_codes is not None:
        launcher.parse_error_codes(error_codes)
    if control_plane == "real" and insecure_http:
        raise LabUsageError(
            "--insecure-http is for the emulated control plane; kube-apiserver serves TLS only"
        )
    state = _state(directory)
    args = ["--port", str(port), "--host", host, "--seed", str(seed)]
    if control_plane == "real":
        launcher.refuse_if_running(state)
        from drkit_lab.controlplane.build import ensure_built  # noqa: PLC0415 (only the real plane needs it)

        binaries = ensure_built(progress=lambda line: click.echo(f"  {line}", err=True))
        args += ["--control-plane", "real", "--binaries", str(binaries.directory)]
    if platform:  # its Seldon Server's model server runs from the MLServer environment: build it first
        from drkit_lab.serving.environment import ensure_serving  # noqa: PLC0415

        ensure_serving(progress=lambda line: click.echo(f"  {line}", err=True))
    args += ["--no-mlflow"] if no_mlflow else []
    args += ["--mlflow-basic-auth"] if mlflow_basic_auth else []
    args += ["--insecure-http"] if insecure_http else []
    args += ["--platform", platform] if platform else []
    for flag, value in (
        ("--latency-ms", latency_ms),
        ("--error-rate", error_rate),
        ("--error-codes", error_codes),
        ("--drop-rate", drop_rate),
        ("--watch-cut-after", watch_cut_after),
        ("--workload-delay", workload_delay),
    ):
        if value is not None:
            args += [flag, str(value)]
    for name in controller_down:
        args += ["--controller-down", name]
    launcher.preflight(state, host=host, port=port, mlflow=not no_mlflow, mlflow_auth=mlflow_basic_auth)
    if foreground:
        from drkit_lab.runner import run  # noqa: PLC0415 (the server side loads only when it runs here)

        sys.exit(run(["--dir", str(state.root), *args]))
    info = launcher.start_detached(state, args, progress=lambda line: click.echo(f"  {line}", err=True))
    click.echo(f"lab running (pid {info.pid}) from {state.root}")
    click.echo(f"  API:        {info.api_url}")
    if info.mlflow_url:
        click.echo(f"  MLflow:     {info.mlflow_url}")
    click.echo(f"  kubeconfig: {info.kubeconfig}")
    click.echo("Use it with:")
    click.echo(_env_lines(state))


@lab.command()
@_dir_option
def down(directory: Path | None) -> None:
    """Stop the lab (its MLflow server too) and wait until it has exited."""
    state = _state(directory)
    info = launcher.stop(state)
    if info is None:
        click.echo(f"no lab is running from {state.root}")
    else:
        click.echo(f"lab stopped (pid {info.pid})")


@lab.command()
@_dir_option
@_output_option
@click.pass_context
def status(ctx: click.Context, directory: Path | None, output: str) -> None:
    """Show whether the lab runs, where, how many objects it holds, its controllers and faults.

    Exits 1 when no lab is running from the directory.
    """
    state = _state(directory)
    info = read_lab_info(state)
    if info is None:
        if output == "json":
            click.echo(json.dumps({"running": False, "dir": str(state.root)}))
        else:
            click.echo(f"no lab is running from {state.root}")
        ctx.exit(EXIT_FAILED)
    assert info is not None
    live = admin_request(state, "status")
    doc = {"running": True, "dir": str(state.root), "pid": info.pid, "kubeconfig": info.kubeconfig, **live}
    if output == "json":
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    click.echo(f"lab running (pid {info.pid}) from {state.root}")
    click.echo(f"  API:         {doc.get('api_url')}")
    plane = doc.get("control_plane") or {}
    click.echo(f"  control plane: {plane.get('name', 'emulated')} ({plane.get('version', '?')})")
    click.echo(f"  MLflow:      {doc.get('mlflow_url') or '(not started)'}")
    click.echo(f"  platform:    {doc.get('platform') or '(none)'}")
    serving = doc.get("serving") or {}
    where = serving.get("environment") or "not built: `drkit lab build --only serving`"
    click.echo(f"  serving:     MLServer {serving.get('mlserver', '?')} ({where})")
    click.echo(f"               memory limits {serving.get('memory_limits', '?')}")
    objects = doc.get("objects")
    click.echo(f"  objects:     {'(not counted yet)' if objects is None else objects}")
    click.echo(f"  controllers: {_controllers_text(doc)}")
    click.echo(f"  faults:      {_faults_text(doc)}")


def _controllers_text(doc: dict[str, Any]) -> str:
    return ", ".join(f"{n} ({s})" for n, s in sorted((doc.get("controllers") or {}).items())) or "none"


def _faults_text(doc: dict[str, Any]) -> str:
    """The faults that differ from a healthy lab, or "none"."""
    defaults = FaultSettings().to_json()
    active = {k: v for k, v in (doc.get("faults") or {}).items() if v != defaults.get(k) and k != "seed"}
    return json.dumps(active, sort_keys=True) if active else "none"


def _env_lines(state: StateDir) -> str:
    info = read_lab_info(state)
    lines = [f"export KUBECONFIG={state.kubeconfig}"]
    if info is not None and info.mlflow_url:
        lines.append(f"export MLFLOW_TRACKING_URI={info.mlflow_url}")
        if info.mlflow_basic_auth:
            auth = MlflowAuth.for_data_dir(state.mlflow_dir)
            lines += [f"export {name}={shlex.quote(value)}" for name, value in auth.client_env.items()]
    return "\n".join(lines)


@lab.command()
@_dir_option
def env(directory: Path | None) -> None:
    """Print `export` lines for KUBECONFIG and MLFLOW_TRACKING_URI, and MLflow's credentials when it runs
    with basic auth (eval "$(drkit lab env)")."""
    state = _state(directory)
    if read_lab_info(state) is None:
        raise LabUsageError(f"no lab is running from {state.root}", hint="start one with `drkit lab up`")
    click.echo(_env_lines(state))


@lab.command()
@_dir_option
@_fault_options
@click.option(
    "--controller-down",
    multiple=True,
    metavar="NAME",
    shell_complete=lambda ctx, param, incomplete: _controllers_in_state(ctx, incomplete, "up"),
    help="Stop a controller (an outage).",
)
@click.option(
    "--controller-up",
    multiple=True,
    metavar="NAME",
    shell_complete=lambda ctx, param, incomplete: _controllers_in_state(ctx, incomplete, "down"),
    help="Bring a controller back (it resyncs).",
)
@click.option(
    "--for",
    "outage",
    type=float,
    metavar="SECONDS",
    help="With --controller-down: bring the controller back by itself after SECONDS.",
)
@click.option("--clear", is_flag=True, help="Clear every fault (and bring every controller back) first.")
@click.option("--seed", type=int, help="Reseed fault randomness.")
@_output_option
def fault(
    *,
    output: str,
    directory: Path | None,
    latency_ms: float | None,
    error_rate: float | None,
    error_codes: str | None,
    drop_rate: float | None,
    watch_cut_after: float | None,
    controller_down: tuple[str, ...],
    controller_up: tuple[str, ...],
    outage: float | None,
    clear: bool,
    seed: int | None,
) -> None:
    """Change the running lab's faults; options not given stay as they are."""
    state = _state(directory)
    changes: dict[str, Any] = {"clear": True} if clear else {}
    for key, value in (
        ("latency_ms", latency_ms),
        ("error_rate", error_rate),
        ("drop_rate", drop_rate),
        ("watch_cut_after", watch_cut_after),
        ("seed", seed),
    ):
        if value is not None:
            changes[key] = value
    if error_codes is not None:
        changes["error_codes"] = list(launcher.parse_error_codes(error_codes))
    if not changes and not controller_down and not controller_up:
        raise LabUsageError("nothing to change", hint="give a fault option, --controller-down/-up or --clear")
    doc: dict[str, Any] = {}
    if controller_down or controller_up:  # every name checked before anything changes
        _check_controllers(admin_request(state, "status"), (*controller_down, *controller_up))
    if changes:
        doc = admin_request(state, "faults", changes)
    for name in controller_down:
        request: dict[str, Any] = {"name": name, "down": True}
        if outage:
            request["for"] = outage
        doc = admin_request(state, "controllers", request)
    for name in controller_up:
        doc = admin_request(state, "controllers", {"name": name, "down": False})
    if output == "json":
        click.echo(json.dumps({"faults": doc.get("faults"), "controllers": doc.get("controllers")}, indent=2))
        return
    click.echo(f"faults:      {_faults_text(doc)}")
    click.echo(f"controllers: {_controllers_text(doc)}")


def _controllers_in_state(ctx: click.Context, incomplete: str, state: str) -> list[str]:
    """Shell completion: the running lab's controllers that are `state` (those --controller-down can stop,
    or --controller-up bring back); nothing when no lab answers from the --dir on the line."""
    try:
        status = admin_request(_state(ctx.params.get("directory")), "status")
    except (LabError, OSError, ValueError):
        return []
    controllers = status.get("controllers") or {}
    return [n for n, s in sorted(controllers.items()) if s == state and n.startswith(incomplete)]


def _check_controllers(status: dict[str, Any], names: tuple[str, ...]) -> None:
    known = list(status.get("controllers") or {})
    for name in names:
        if name not in known:
            near = did_you_mean(name, known)
            listed = f"controllers: {', '.join(known) or 'none'}"
            raise LabUsageError(
                f"the lab has no controller named {name!r}; nothing was changed",
                hint=f"{near} ({listed})" if near else listed,
            )


@lab.command()
@click.option("--go", default="go", show_default=True, help="The Go command to build with (1.26 or later).")
@click.option(
    "--only",
    type=click.Choice(["control-plane", "serving"]),
    help="Build only the real control plane, or only the MLServer environment.",
)
@click.option("--check", is_flag=True, help="Only say whether it is built; exit 1 if not.")
@click.pass_context
def build(ctx: click.Context, go: str, only: str | None, check: bool) -> None:
    """Build what the lab runs but cannot install as a dependency, into the cache, once.

    The real control plane (etcd, kube-apiserver, kube-controller-manager), from Go sources: `drkit lab up
    --control-plane real` needs it. The MLServer environment (a virtualenv with MLServer and the model
    libraries): every Seldon Server's model server runs from it. Later calls reuse both while their pins are
    unchanged. The caches are under $XDG_CACHE_HOME/drkit (DRKIT_CONTROLPLANE_CACHE and DRKIT_SERVING_CACHE
    override them).
    """
    from drkit_lab.controlplane import build as cp_build  # noqa: PLC0415 (only this command needs it)
    from drkit_lab.serving import environment  # noqa: PLC0415

    say = lambda line: click.echo(line, err=True)  # noqa: E731
    parts = [only] if only else ["control-plane", "serving"]
    if check:
        missing = False
        for part in parts:
            found = cp_build.find_built(go) if part == "control-plane" else environment.find_serving()
            where = getattr(found, "directory", None) or getattr(found, "root", None)
            hint = f"not built: run `drkit lab build --only {part}`"
            click.echo(f"{part}: {where if found else hint}")
            missing = missing or found is None
        ctx.exit(EXIT_FAILED if missing else 0)
    if "control-plane" in parts:
        click.echo(f"control-plane: {cp_build.ensure_built(go=go, progress=say).directory}")
    if "serving" in parts:
        click.echo(f"serving: {environment.ensure_serving(progress=say).root}")


@lab.command()
@click.option("--namespace", "-n", required=True)
@click.option("--name", required=True)
@click.option("--from-literal", "literals", multiple=True, required=True, metavar="KEY=VALUE")
@click.option("--type", "secret_type", default="Opaque", show_default=True)
@click.option(
    "--file", "output", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH", help="Write to PATH."
)
def seal(namespace: str, name: str, literals: tuple[str, ...], secret_type: str, output: Path | None) -> None:
    """Print a SealedSecret for NAMESPACE/NAME sealed with the lab's key (values are never printed)."""
    data: dict[str, bytes] = {}
    for literal in literals:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise LabUsageError(f"--from-literal needs KEY=VALUE; got one without '=' or key (key {key!r})")
        data[key] = value.encode("utf-8")
    _key_pem, cert_pem = lab_sealing_key()
    text = _yaml(seal_values(cert_pem, namespace, name, data, secret_type=secret_type))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _yaml(doc: dict[str, Any]) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100_000  # ciphertexts stay on one line, as kubeseal writes them
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def main() -> None:
    """Run the `lab` group on its own (`python -m drkit_lab.cli`); it reports its errors itself."""
    lab.main(prog_name="drkit lab")


if __name__ == "__main__":
    main()
