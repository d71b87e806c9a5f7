"""Watching a running kernel from outside, and stopping it at the first limit it passes.

A thread of the grader's process (the ``nbgrader autograde`` of one unit) checks, while the
kernel lives, what the kernel could use to spend the machine or the grader:

* the disk it wrote and the files it made (:mod:`.usage`), every half second: bounded per file
  and per tmpfs by the kernel's own limits, the total is known only from outside;
* its processes: the pids cgroup's count of refused forks, or the tasks seen in its sandbox;
* its output: the metered channels (:mod:`.channels`) and the sockets' monitors, every tenth of a
  second, and this process's own memory, which a message of many parts could still grow.

The first limit passed is the :class:`Breach`; the kernel is killed at once (everything it
started goes with it) and nbclient sees a dead kernel in the cell that was running, which the
grader reports as the limit passed in that cell (:mod:`coursegrader.execute`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

from . import Limits, human
from .usage import own_resident_bytes, written

#: How often the cheap checks run (output, the grader's memory); the others run every ``SLOW``-th time.
TICK, SLOW = 0.1, 5
#: How long a dropped connection is given to turn out to be a kernel that died by itself.
DEATH_GRACE = 1.0
#: What the grader's own memory may grow by while a kernel runs, past the output kept: decoded
#: messages and nbclient's bookkeeping take a few times the output; anything beyond can only be
#: a kernel flooding the sockets.
GRADER_HEADROOM = 256 * 2**20


@dataclass(frozen=True)
class Breach:
    """A limit the kernel passed: ``why`` is the status's words, ``detail`` a sentence for the feedback."""

    kind: str  # disk | files | processes | output | forged
    why: str
    detail: str


def breach(kind: str, limits: Limits, note: str = "") -> Breach:
    """The words for passing ``kind`` of ``limits`` (``note``: what exactly happened, if known)."""
    if kind == "disk":
        why = f"wrote more than {human(limits.disk)}"
        detail = (
            f"the kernel wrote more than {human(limits.disk)} (its working folder, /tmp and /dev/shm "
            "together), the disk limit of a graded notebook, and was stopped"
        )
    elif kind == "files":
        why = f"created more than {limits.files} files"
        detail = (
            f"the kernel created more than {limits.files} files and folders, the limit of a graded notebook, "
            "and was stopped"
        )
    elif kind == "processes":
        why = f"started more than {limits.processes} processes"
        detail = (
            f"the kernel tried to have more than {limits.processes} processes and threads at once, "
            "the limit of a graded notebook, and was stopped"
        )
    elif kind == "forged":
        why = "sent the grader a forged message"
        detail = "the kernel sent the grader a message that is not a Jupyter message of its own, and was stopped"
    else:
        why = f"printed more than {human(limits.output)}"
        detail = (
            f"the kernel sent more than {human(limits.output)} of output, the most the grader keeps of a "
            "notebook; what came before is kept, the rest was cut and the kernel was stopped"
        )
    return Breach(kind, why, detail + (f" ({note})" if note else ""))


class Watcher:
    """Checks one running kernel from a thread of its own (see the module docstring); the grader
    also calls :meth:`check` as each cell ends, so that a limit passed in a short cell is seen."""

    def __init__(self, km, kc, limits: Limits, tick: float = TICK):
        self.km, self.kc, self.limits, self.tick = km, kc, limits, tick
        self.breach: Breach | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coursegrader-limits", daemon=True)
        self._dropped_at: float | None = None
        self._baseline_rss = own_resident_bytes()
        self._baseline_disk = None
        self.cpu_seconds = 0.0  # what the watch's own thread cost
        self.peak_growth = 0  # the most the grader's memory grew by while the kernel ran

    def __enter__(self) -> Watcher:
        if self.wanted():
            self._baseline_disk = self._written()  # what was there before the kernel ran: the notebook
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def wanted(self) -> bool:
        return any(getattr(self.limits, kind) for kind in ("disk", "files", "processes", "output"))

    def summary(self) -> str:
        meter = getattr(self.kc, "meter", None)
        sent = f"{meter.received} bytes" if meter is not None else "an unmetered amount"
        return (
            f"the kernel sent {sent} of output; the grader's memory grew by at most {self.peak_growth / 2**20:.0f} "
            f"MiB meanwhile; watching it took {self.cpu_seconds * 1000:.0f} ms of CPU"
        )

    def check(self, monitors: bool = False) -> Breach | None:
        """Every check now; the first limit passed stops the kernel and is kept in ``breach``."""
        if self.breach is None and self.wanted():
            self._stop_at(self._check_output(monitors) or self._check_slow())
        return self.breach

    def _stop_at(self, found: Breach | None) -> None:
        if found is not None:
            with self._lock:
                if self.breach is None:
                    self.breach = found
                    self.km.kill_now()

    def _run(self) -> None:
        count, started = 0, time.thread_time()
        while not self._done.wait(self.tick) and self.breach is None:
            try:
                self._stop_at(self._check_output(monitors=True) or (self._check_slow() if count % SLOW == 0 else None))
            except Exception as err:  # noqa: BLE001 - a measuring error must not stop the grading, only this watch
                self.km.log.warning("limits: stopped watching the kernel (%s: %s)", type(err).__name__, err)
                break
            count += 1
        self.cpu_seconds = time.thread_time() - started

    def _check_output(self, monitors: bool) -> Breach | None:
        limits = self.limits
        if not limits.output:
            return None
        meter = getattr(self.kc, "meter", None)
        if meter is not None and meter.over:
            return breach("output", limits)
        if meter is not None and meter.malformed:
            return breach("forged", limits, meter.malformed)
        grown = own_resident_bytes() - self._baseline_rss
        self.peak_growth = max(self.peak_growth, grown)
        if grown > GRADER_HEADROOM + 4 * limits.output:
            return breach("output", limits, "it sent the grader more than its output limit in one message")
        dropped = getattr(self.kc, "connection_dropped", None)
        if monitors and dropped is not None and dropped() and self._dropped_at is None:
            self._dropped_at = time.monotonic()  # only the watch's own thread reads the monitors
        waited = self._dropped_at is not None and time.monotonic() - self._dropped_at >= DEATH_GRACE
        if waited and self.km.is_running():  # not a kernel that ended by itself: libzmq refused a message
            return breach("output", limits, "one message was larger than that")
        return None

    def _written(self):
        if not (self.limits.disk or self.limits.files) or not hasattr(self.km, "written_places"):
            return None
        folders, tmpfs = self.km.written_places()
        return written(folders, tmpfs, max_entries=(self.limits.files or 10**9) + 64)

    def _check_slow(self) -> Breach | None:
        limits = self.limits
        if limits.processes and hasattr(self.km, "process_limit_hit") and self.km.process_limit_hit():
            return breach("processes", limits)
        now, then = self._written(), self._baseline_disk
        if now is None or then is None:
            return None
        if limits.files and now.entries - then.entries > limits.files:
            return breach("files", limits)
        if limits.disk and now.bytes - then.bytes > limits.disk:
            return breach("disk", limits)
        return None


def stop_watching(watcher: Watcher | None) -> Breach | None:
    """End ``watcher`` (if any) and return the limit it found passed."""
    if watcher is None:
        return None
    with contextlib.suppress(RuntimeError):
        watcher.__exit__(None, None, None)
    return watcher.breach
