"""One grader at a time in a grading folder, and nothing a dead one left taken for done.

Two graders in one folder would execute the same units side by side and write the same
gradebook, feedback pages and results. :func:`holding` takes an exclusive ``flock`` on
``<workdir>/.grading.lock`` for the whole run: a second grader there stops at once and says
which process holds the folder. The kernel releases the lock when its holder ends, however it
ends (SIGKILL and the OOM killer included), so a rerun never waits for a grader that is gone.

Holding the lock, a run first clears what a dead run may have left half-done: the units'
private folders (``.work/``), a stored result that was being written (``.results/.saving-*``;
complete results are renamed into place, so a result found is whole), and kernel cgroups, with
anything still in them, whose grader has ended (:mod:`coursegrader.sandbox.sweep`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import inspect
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import store
from .errors import GradingError
from .sandbox.sweep import sweep

LOCK = ".grading.lock"


class FolderBusy(GradingError):
    """Another grader is grading in this folder."""


@contextlib.contextmanager
def holding(workdir: Path) -> Iterator[None]:
    """Hold ``workdir`` for one grading run (see the module docstring); FolderBusy if another grader does."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:  # 666 less the umask: group-writable in a folder the course staff share (coursegrader.groupshare)
        fd = os.open(workdir / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except PermissionError:  # another TA's lock file, not ours to write: flock needs only to read it
        fd = os.open(workdir / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise FolderBusy(
                f"{workdir} is being graded by another grader (pid {holder}); wait for it to finish, "
                f"or stop it, before grading there again"
            ) from None
        with contextlib.suppress(OSError):  # who holds the folder, for the message of the next grader
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        clear_leftovers(workdir)
        yield
    finally:
        os.close(fd)  # releases the lock


def clear_leftovers(workdir: Path) -> None:
    """Delete what a grading run that did not finish left in ``workdir`` (call holding the folder)."""
    shutil.rmtree(Path(workdir) / ".work", ignore_errors=True)
    results = store.root(workdir)
    for partial in results.glob(".*") if results.is_dir() else []:
        shutil.rmtree(partial, ignore_errors=True)
    sweep()


def exclusive(grade):
    """``grade`` holding its ``workdir`` argument for the whole call (see :func:`holding`)."""
    signature = inspect.signature(grade)

    @functools.wraps(grade)
    def holding_workdir(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        with holding(Path(bound.arguments["workdir"]).resolve()):
            return grade(*args, **kwargs)

    return holding_workdir
