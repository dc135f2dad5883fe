"""Running local programs: the only place drkit starts subprocesses.

A program runs in its own process group so a timeout (or Ctrl-C in drkit) can stop it and everything it
started; its merged output is streamed line by line to a callback and the last lines are kept for the report.
"""

from drkit.processes.installed import installed_program
from drkit.processes.program import ProcessResult, run_process

__all__ = ["ProcessResult", "installed_program", "run_process"]
