"""When each unit runs, and with how many of the machine's cores.

* :func:`longest_first`: the order to start the units in, the longest expected first
  (the median of the seconds measured in earlier runs, else a typical time, else the
  profile's notebook time limit), so that the short units fill the gaps and no worker
  waits while a long unit runs alone at the end.
* :class:`Cores`: how many TensorFlow threads a unit gets when it starts. Side by side,
  each worker gets its share of the cores: two kernels that each use every core fight
  over them and both run slower than with a share each (docs/benchmarks.md has the
  measurements). A unit expected to outlast the rest of the work, and so to run alone for
  most of its time, gets every core.
"""

from __future__ import annotations

import statistics
import threading
import time

from .machine import grading_cores

#: Typical seconds of a unit on a 2-core machine with two workers (from `make bench-grade`), for the
#: order and the cores before this course's own runs have been measured: only their ranking matters.
TYPICAL = {
    "cpu": {"sentiment": 60, "nmt": 270, "nmt_luong": 450},
    "smoke": {"sentiment": 15, "nmt": 20, "nmt_luong": 20},
}


def expected_seconds(assignment: str, profile, measured: list[float]) -> float:
    """The median of the ``measured`` seconds of ``assignment`` in this profile, else a typical time."""
    if measured:
        return statistics.median(measured)
    return float(TYPICAL.get(profile.name, {}).get(assignment, profile.notebook_timeout))


def longest_first(todo: list, expected: dict[int, float]) -> list:
    """The units in the order to start them: the longest expected first (stable; ``expected``:
    {id(unit): seconds})."""
    return sorted(todo, key=lambda u: -expected[id(u)])


class Cores:
    """Shares the CPU cores between the units a run's workers execute (thread-safe)."""

    def __init__(self, units: list, expected: dict[int, float], workers: int, cores: int | None = None):
        self.expected = expected  # {id(unit): seconds}
        self.waiting = {id(u) for u in units}
        self.ends: dict[int, float] = {}  # running units: when they are expected to end
        self.workers, self.cores = max(1, workers), cores or grading_cores()
        self.lock = threading.Lock()

    def start(self, unit, env: dict[str, str]) -> dict[str, str]:
        """``env`` for ``unit`` as it starts: every core if it is expected to outlast the rest of the
        work spread over the other workers, else the worker's share (as ``env`` has it)."""
        with self.lock:
            key, now = id(unit), time.monotonic()
            self.waiting.discard(key)
            mine = self.expected.get(key, 0.0)
            others = sum(self.expected.get(k, 0.0) for k in self.waiting) + sum(
                max(0.0, end - now) for end in self.ends.values()
            )
            self.ends[key] = now + mine
            if self.workers == 1 or mine >= others / (self.workers - 1):
                every = str(self.cores)
                return {**env, "TF_NUM_INTRAOP_THREADS": every, "OMP_NUM_THREADS": every}
            return env

    def done(self, unit) -> None:
        with self.lock:
            self.ends.pop(id(unit), None)
