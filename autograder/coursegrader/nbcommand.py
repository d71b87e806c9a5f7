"""Run nbgrader commands with the course configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from coursekit import profiles

from . import tether
from .course import AUTOGRADER, ROOT
from .errors import NbgraderFailed


def nbgrader_env(profile: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    env["JUPYTER_CONFIG_PATH"] = str(AUTOGRADER)
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from the same venv
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if profile:
        env[profiles.ENV_VAR] = profile
    return env


def workdir_options(workdir: Path) -> list[str]:
    """nbgrader options that put submissions, results and the gradebook under ``workdir``."""
    workdir = workdir.resolve()
    return [
        f"--CourseDirectory.submitted_directory={workdir / 'submitted'}",
        f"--CourseDirectory.autograded_directory={workdir / 'autograded'}",
        f"--CourseDirectory.feedback_directory={workdir / 'feedback'}",
        f"--CourseDirectory.db_url=sqlite:///{workdir / 'gradebook.db'}",
    ]


def nbgrader(
    *args: str,
    profile: str | None = None,
    timeout: float | None = None,
    log: Path | None = None,
    env: dict[str, str] | None = None,
    usage: dict | None = None,
) -> tuple[int | None, float]:
    """Run one nbgrader command; return (exit code or None on timeout, seconds).

    The command runs in its own process group so that a timeout also stops the
    Jupyter kernel it started, and dies with the thread that started it (:mod:`coursegrader.tether`),
    so that a grader killed outright leaves nothing running. ``usage["cpu"]`` gets the CPU seconds
    of the command and the processes it waited for (its kernel among them).
    """
    cmd = tether.command(os.getpid(), [sys.executable, "-m", "coursegrader.run_nbgrader", *args])
    out = open(log, "a", encoding="utf-8") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd, env=nbgrader_env(profile, env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        code = _wait(proc, timeout, {} if usage is None else usage)
    finally:
        if log:
            out.close()
    return code, time.monotonic() - start


def _wait(proc: subprocess.Popen, timeout: float | None, usage: dict) -> int | None:
    """``proc``'s exit code (None if it ran past ``timeout`` and was killed), reaped with
    ``os.wait4`` for its resource usage, which ``Popen.wait`` does not give."""
    found: dict = {}

    def reap() -> None:
        try:
            _, status, rusage = os.wait4(proc.pid, 0)
        except ChildProcessError:  # reaped elsewhere after all: the code is Popen's to tell
            found["code"] = proc.wait()
            return
        found["code"] = os.waitstatus_to_exitcode(status)
        usage["cpu"] = round(rusage.ru_utime + rusage.ru_stime, 2)

    reaper = threading.Thread(target=reap, daemon=True)
    reaper.start()
    reaper.join(timeout)
    late = reaper.is_alive()
    if late:
        os.killpg(proc.pid, signal.SIGKILL)
        reaper.join()
    proc.returncode = found["code"]  # reaped here: Popen must not wait for it again
    return None if late else found["code"]


def generate(assignment: str, db: Path, log: Path) -> None:
    """Teach a gradebook an assignment's tests (hidden ones included) from solutions/."""
    with tempfile.TemporaryDirectory() as tmp:
        code, _ = nbgrader(
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.release_directory={tmp}",
            f"--CourseDirectory.db_url=sqlite:///{db}",
            log=log,
        )
    if code != 0:
        raise NbgraderFailed(f"nbgrader generate_assignment {assignment} failed; see {log}")
