"""Where a unit's time goes: the grader's own clocks, read around what it already does.

Timing decides nothing (no grade, no status); it is for ``make bench-grade`` and for a person
wondering why a run was slow. Every figure is taken outside the student's kernel:

* **wall seconds** of each phase (the kernel's start, every cell, the requests, the
  verdicts, the kernel's shutdown), from the grader's monotonic clock around the calls it
  makes anyway: free, so always on;
* **CPU seconds** of the kernel's process tree during each cell, read from ``/proc`` (the
  kernel's processes are visible from outside its sandbox): a few reads per cell, so only
  when ``COURSEGRADER_CPU_TIMING=1`` is set for the grader (the benchmark sets it). On a
  machine shared with other work, CPU seconds say what a phase costs where wall seconds
  also say how busy the machine was.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

CPU_TIMING_VAR = "COURSEGRADER_CPU_TIMING"

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_timing_on(env=os.environ) -> bool:
    return env.get(CPU_TIMING_VAR, "") not in ("", "0")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return found


def _own_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime of all its threads


def tree_cpu_seconds(pid: int | None) -> float | None:
    """User + system seconds of ``pid`` and every live descendant (None where ``/proc`` has no
    such process; finished descendants that were reaped count in their parent's children
    times, which this leaves out: short helpers only)."""
    if pid is None or not Path(f"/proc/{pid}").exists():
        return None
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += _own_cpu(p)
        todo += _children(p)
    return total


def rusage_cpu(usage) -> float:
    """User + system seconds of a reaped process and its reaped descendants (``os.wait4``)."""
    return usage.ru_utime + usage.ru_stime


class Clock:
    """The phases of one graded execution, into ``timing`` (the run record's ``"timing"``):
    ``timing["phases"][name] = [wall, cpu]`` and, for every cell that ran, ``[label, wall, cpu]``
    in ``timing["cells"]``; cpu is the kernel's, None unless CPU timing is on."""

    def __init__(self, timing: dict, pid=None):
        self.timing, self.pid = timing, pid  # pid: a callable giving the kernel's process id
        self.on = cpu_timing_on()
        self.since, self.cpu_mark = time.monotonic(), 0.0
        self.timing.setdefault("cells", [])
        self.timing.setdefault("phases", {})

    def _cpu_used(self) -> float | None:
        """The kernel's CPU seconds since the previous reading."""
        now = tree_cpu_seconds(self.pid()) if self.on and self.pid else None
        if now is None:
            return None
        used, self.cpu_mark = now - self.cpu_mark, now
        return round(used, 2)

    def lap(self, name: str) -> None:
        """The time since the previous lap or cell is phase ``name``."""
        now = time.monotonic()
        self.timing["phases"][name] = [round(now - self.since, 2), self._cpu_used()]
        self.since = now

    @contextmanager
    def cell(self, label: str):
        self._cpu_used()
        began = time.monotonic()
        try:
            yield
        finally:
            self.timing["cells"].append([label, round(time.monotonic() - began, 2), self._cpu_used()])
            self.since = time.monotonic()


@contextmanager
def phase(record: dict, name: str):
    """Time a phase of the grader's own process (wall and this process's CPU) into ``record``."""
    wall, cpu = time.monotonic(), time.process_time()
    try:
        yield
    finally:
        phases = record.setdefault("timing", {}).setdefault("phases", {})
        phases[name] = [round(time.monotonic() - wall, 2), round(time.process_time() - cpu, 2)]
