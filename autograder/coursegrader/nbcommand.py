"""Run nbgrader commands with the course configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
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
) -> tuple[int | None, float]:
    """Run one nbgrader command; return (exit code or None on timeout, seconds).

    The command runs in its own process group so that a timeout also stops the
    Jupyter kernel it started, and dies with the thread that started it (:mod:`coursegrader.tether`),
    so that a grader killed outright leaves nothing running.
    """
    cmd = tether.command(os.getpid(), [sys.executable, "-m", "nbgrader", *args])
    out = open(log, "a", encoding="utf-8") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd, env=nbgrader_env(profile, env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    finally:
        if log:
            out.close()
    return code, time.monotonic() - start


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
