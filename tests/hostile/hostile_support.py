"""Running a hostile case through the CLI, and what every refusal must look like."""

from __future__ import annotations

from pathlib import Path

from hostile_cases import HostileCase

MAX_OUTPUT = 30_000  # characters of stderr: a hostile input must not turn into a flood of output


def argv(command: str, playbook: Path, kubeconfig: Path) -> list[str]:
    if command == "validate":
        return ["validate", str(playbook)]
    extra = ["--yes"] if command == "drill" else []
    return [command, str(playbook), *extra, "--kubeconfig", str(kubeconfig)]


def refusal_problems(
    case: HostileCase, playbook: Path, exit_code: int, stdout: str, stderr: str
) -> list[str]:
    """Everything wrong with how drkit answered `case` (empty: exit 2, located, said what is wrong)."""
    problems: list[str] = []
    if exit_code != 2:
        problems.append(f"exit code {exit_code}, not 2")
    # A problem with the file as a whole (too large, not a file) names the file; anything else, line:col too.
    where = f"{playbook}:{case.location[0]}:{case.location[1]}: error: " if case.location else str(playbook)
    if where not in stderr:
        problems.append(f"no message located at {where!r}")
    if case.fragment not in stderr:
        problems.append(f"the message does not say {case.fragment!r}")
    if "internal error" in stderr or "Traceback" in stderr:
        problems.append("an internal error")
    if len(stderr) > MAX_OUTPUT:
        problems.append(f"{len(stderr)} characters of output")
    if case.secret is not None and (case.secret in stderr or case.secret in stdout):
        problems.append("the secret value is in the output")
    if problems:
        problems.append(f"stderr was:\n{stderr[:3000]}")
    return problems
