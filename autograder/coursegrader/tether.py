"""Tie a grading process's life to the grader that started it: ``python -m coursegrader.tether PID ...``.

Each unit runs ``nbgrader autograde`` in a session of its own, so that a time-out can kill it
with everything it started and a Ctrl-C in the terminal reaches the grader only. But then a
grader killed outright (SIGKILL, the OOM killer, a cluster's job limit) would leave its units
running, parented to init, writing beside the next run. So the unit's process asks the kernel
to SIGKILL it when the thread that started it ends (``PR_SET_PDEATHSIG``: the grader's worker
thread, which waits for it), then checks that the grader had not already gone before the
request was made; its kernel dies with it (bubblewrap's ``--die-with-parent``).

``python -m coursegrader.tether PID -m MODULE ARGS...`` then runs ``python -m MODULE ARGS...`` in
this same process (no second interpreter start); ``... PID COMMAND ARGS...`` executes a command.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when the thread that started it ends; exit now if ``parent`` has gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the grader died before the request: nobody would kill us
        sys.exit(f"coursegrader.tether: the grader (pid {parent}) has already ended")


def command(parent: int, argv: list[str]) -> list[str]:
    """``argv`` (a ``python -m MODULE ...`` or any command) run tethered to ``parent``."""
    if argv[:2] == [sys.executable, "-m"]:
        argv = argv[1:]
    return [sys.executable, "-m", "coursegrader.tether", str(parent), *argv]


def main(argv: list[str]) -> None:
    parent, rest = int(argv[0]), argv[1:]
    die_with_parent(parent)
    if rest[:1] == ["-m"]:
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        os.execvp(rest[0], rest)


if __name__ == "__main__":
    main(sys.argv[1:])
