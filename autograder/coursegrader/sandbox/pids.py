"""A process limit per student kernel (cgroup ``pids.max``).

A fork bomb, or a thread bomb, in one kernel must not fill the machine's process table: the
grader itself could then no longer start anything. With ``process_limit`` set, the kernel and
everything it starts run in a cgroup whose ``pids.max`` counts their processes and threads
(TensorFlow's thread pools included); past it, ``fork`` and ``clone`` fail in the kernel only,
and the group's ``pids.events`` tells the grader that the limit was hit.

cgroup v2 keeps a process in exactly one group, so there the limit is written into the kernel's
memory group when it has one; cgroup v1 has a separate ``pids`` hierarchy and a group of its own.
Where no pids controller can be used (not root, nothing delegated), :class:`ProcessCapUnavailable`
says why and the kernel falls back on ``RLIMIT_NPROC``, set inside its user namespace
(:func:`coursegrader.sandbox.bwrap.rlimited`).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .cgroups import KernelGroup, MemoryCap, MemoryCapUnavailable, _counter, _read, _v2_parent, find_cgroup_parent


class ProcessCapUnavailable(RuntimeError):
    """No cgroup with a pids controller can be used here (the message says why)."""


class ProcessCap(KernelGroup):
    """``pids.max`` on one kernel's group: its own (cgroup v1, or v2 without a memory group),
    or the kernel's memory group (v2). Only a group of its own is entered and removed here."""

    def __init__(self, path: Path, version: int, limit: int, own_group: bool = True):
        super().__init__(path, version)
        self.limit, self.own_group = limit, own_group

    def __repr__(self) -> str:
        return f"ProcessCap({str(self.path)!r}, v{self.version}, {self.limit})"

    @classmethod
    def create(
        cls, limit: int, memory_cap: MemoryCap | None = None, parent: tuple[int, Path] | None = None
    ) -> ProcessCap:
        """A process limit of ``limit`` for the kernel about to start. Raises ProcessCapUnavailable."""
        if memory_cap is not None and memory_cap.version == 2 and parent is None:
            return cls._in_memory_group(limit, memory_cap)
        try:
            version, folder = find_cgroup_parent(controller="pids") if parent is None else parent
        except MemoryCapUnavailable as err:
            raise ProcessCapUnavailable(str(err)) from None
        path = cls.made_in(folder, ProcessCapUnavailable)
        cap = cls(path, version, limit)
        try:
            cap._write("pids.max", str(limit))
        except OSError as err:
            cap.remove(timeout=0)
            raise ProcessCapUnavailable(f"cannot set pids.max in {path}: {err.strerror or err}") from None
        return cap

    @classmethod
    def _in_memory_group(cls, limit: int, memory_cap: MemoryCap) -> ProcessCap:
        parent = memory_cap.path.parent
        if _v2_parent(parent, parent, "pids") is None:  # enables +pids there when it can
            raise ProcessCapUnavailable(f"the cgroup {parent} cannot give its children the pids controller")
        cap = cls(memory_cap.path, 2, limit, own_group=False)
        try:
            cap._write("pids.max", str(limit))
        except OSError as err:
            raise ProcessCapUnavailable(f"cannot set pids.max in {memory_cap.path}: {err.strerror or err}") from None
        return cap

    def wrap(self, argv: list[str]) -> list[str]:
        return super().wrap(argv) if self.own_group else argv  # the memory group's wrap enters it

    def hit(self) -> bool:
        """Whether a fork or clone in the group failed at the limit."""
        return _counter(_read(self.path / "pids.events"), "max") > 0

    def current(self) -> int:
        text = _read(self.path / "pids.current").strip()
        return int(text) if text.isdigit() else 0

    def remove(self, timeout: float = 5.0) -> bool:
        return super().remove(timeout) if self.own_group else True


@functools.cache
def process_cap_support() -> tuple[bool, str]:
    """Whether kernels can get a pids cgroup here, and how or why not (cached; meant to be printed
    once by the grader). Creates and removes a test group."""
    try:
        cap = ProcessCap.create(1024)
    except ProcessCapUnavailable as err:
        if os.geteuid() == 0:  # root's processes are exempt from RLIMIT_NPROC
            return False, f"WARNING: student kernels run WITHOUT a process limit: no pids cgroup ({err})."
        return False, (
            f"Note: no pids cgroup for the kernels' process limit ({err}); each kernel gets RLIMIT_NPROC "
            f"in its own user namespace instead (Linux 5.14 and later count only that namespace's processes)."
        )
    cap.remove(timeout=1)
    return True, f"Student kernels get their own process limit (cgroup v{cap.version} pids under {cap.path.parent})."
