"""The course's spawner: JupyterHub's LocalProcessSpawner with limits that hold.

LocalProcessSpawner starts each user's server as that user, but of ``Spawner.mem_limit`` and
``Spawner.cpu_limit`` it only passes on the numbers (``MEM_LIMIT``, ``CPU_LIMIT``): nothing stops
one student's training run from taking every core and all the memory of the machine the whole
class (and the grader) shares. :class:`CourseSpawner` enforces them with a cgroup per server:

* The hub (root) makes the group and writes its limits before the server starts; the server's
  process enters it after the fork and before it becomes the user (``preexec_fn``), so JupyterLab,
  every kernel and every terminal it starts are inside from their first instruction, and none
  can leave (a group's ``cgroup.procs`` is root's).
* Memory: past ``mem_limit`` (RAM, swap included) the kernel's OOM killer stops the largest
  process in the group, normally the student's kernel: JupyterLab says the kernel died, and the
  other students and the grader never notice.
* CPU: a quota of ``cpu_limit`` cores per scheduling period for the whole group.
* The group goes when the server stops (what is left in it first: only that server's processes).

cgroup v2 (one hierarchy with the memory and cpu controllers) or v1 (a memory and a cpu hierarchy),
under the hub's own group or its nearest ancestor that can have children with both controllers.
Where no group can be made the server does not start, and the error says why: limits that are
configured but silently absent would be worse. Standard library and JupyterHub only: the hub
imports this file from where its configuration is (docs/hub.md), not from the course folder.

The same spawner sets a ``umask`` for a user when told to: the course staff's servers write into
a course folder their group shares (``umask`` 002, see autograder/coursegrader/groupshare.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Integer, Unicode

PERIOD_US = 100_000  #: the CPU quota's scheduling period (the kernel's default)


class LimitsUnavailable(RuntimeError):
    """No cgroup with the needed controllers can be made here (the message says why)."""


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _mounts(mountinfo: str) -> list[tuple[str, Path, str, set[str]]]:
    """(fstype, mount point, root inside the hierarchy, super options) of every cgroup mount."""
    found = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            found.append((tail[0], Path(point), fields[3], set(tail[2].split(","))))
    return found


def _own(proc_cgroup: str) -> dict[str, str]:
    """{controller: path} of this process (/proc/self/cgroup); the v2 path is under ""."""
    own = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                own[name] = parts[2]
    return own


def _below(point: Path, root: str, path: str | None) -> Path:
    """Where a /proc/self/cgroup path is under the mount (the mount itself if not visible)."""
    root = root.rstrip("/")
    if path is None or (root and not (path == root or path.startswith(root + "/"))):
        return point
    where = point / path[len(root) :].strip("/")
    return where if where.is_dir() else point


def _v2_parent(start: Path, top: Path, needed: set[str]) -> Path | None:
    """The nearest group from ``start`` up to ``top`` whose children get the ``needed``
    controllers (enabling them where the kernel allows: not in a group holding processes)."""
    here = start
    while True:
        if needed <= set(_read(here / "cgroup.subtree_control").split()):
            return here
        if needed <= set(_read(here / "cgroup.controllers").split()):
            with contextlib.suppress(OSError):
                (here / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(needed)))
            if needed <= set(_read(here / "cgroup.subtree_control").split()):
                return here
        if here == top or top not in here.parents:
            return None
        here = here.parent


def parents(mountinfo: str, proc_cgroup: str) -> tuple[int, dict[str, Path]]:
    """(cgroup version, {controller: folder to make groups in}) for memory and cpu."""
    mounts, own = _mounts(mountinfo), _own(proc_cgroup)
    needed = {"memory", "cpu"}
    for fstype, point, root, _ in mounts:
        if fstype == "cgroup2" and needed <= set(_read(point / "cgroup.controllers").split()):
            parent = _v2_parent(_below(point, root, own.get("")), point, needed)
            if parent is not None:
                return 2, {"": parent}
    v1 = {
        controller: _below(point, root, own.get(controller))
        for fstype, point, root, options in mounts
        if fstype == "cgroup"
        for controller in needed & options
    }
    if needed <= set(v1):
        return 1, v1
    raise LimitsUnavailable(
        "no cgroup hierarchy offers the memory and cpu controllers to the hub "
        f"(cgroup mounts: {', '.join(str(m[1]) for m in mounts) or 'none'})"
    )


def limits_of(pid: int) -> tuple[int | None, float | None]:
    """(memory cap in bytes, CPU quota in cores) of process ``pid``'s groups; None where there is
    none. For an administrator's check (and the hub test): ``python coursespawner.py PID``."""
    own = _own(_read(Path(f"/proc/{pid}/cgroup")))
    memory = cpus = None
    for fstype, point, root, options in _mounts(_read(Path("/proc/self/mountinfo"))):
        if fstype == "cgroup2" and "" in own:
            group = _below(point, root, own[""])
            text, quota = _read(group / "memory.max").strip(), _read(group / "cpu.max").split()
            memory = int(text) if text.isdigit() else memory
            cpus = int(quota[0]) / int(quota[1]) if len(quota) == 2 and quota[0].isdigit() else cpus
        elif fstype == "cgroup" and "memory" in options:
            text = _read(_below(point, root, own.get("memory")) / "memory.limit_in_bytes").strip()
            memory = int(text) if text.isdigit() and int(text) < 2**60 else memory  # v1 "none": huge
        elif fstype == "cgroup" and "cpu" in options:
            group = _below(point, root, own.get("cpu"))
            quota, period = _read(group / "cpu.cfs_quota_us").strip(), _read(group / "cpu.cfs_period_us").strip()
            cpus = int(quota) / int(period) if quota.isdigit() and period.isdigit() else cpus
    return memory, cpus


class ServerLimits:
    """One server's cgroup(s): made with :meth:`create`, entered by the server's first process
    (:meth:`enter`), removed with :meth:`remove` once the server has stopped."""

    def __init__(self, version: int, folders: list[Path]):
        self.version, self.folders = version, folders

    @classmethod
    def create(
        cls, name: str, memory: int | None, cpus: float | None, mountinfo: str | None = None, proc: str | None = None
    ) -> ServerLimits:
        """Groups named ``name`` capped at ``memory`` bytes and ``cpus`` cores (None: no cap)."""
        mountinfo = _read(Path("/proc/self/mountinfo")) if mountinfo is None else mountinfo
        proc = _read(Path("/proc/self/cgroup")) if proc is None else proc
        version, found = parents(mountinfo, proc)
        folders = {controller: folder / name for controller, folder in found.items()}
        try:
            for folder in folders.values():
                folder.mkdir(exist_ok=True)  # exists: the hub restarted while the server ran
            quota = str(round(cpus * PERIOD_US)) if cpus else None
            if version == 2:
                group = folders[""]
                _write(group / "memory.max", str(memory) if memory else "max")
                _write(group / "memory.swap.max", "0" if memory else "max", optional=True)
                _write(group / "cpu.max", f"{quota or 'max'} {PERIOD_US}")
            else:
                # RAM + swap may never be below RAM: lift it, set RAM, then cap RAM + swap
                _write(folders["memory"] / "memory.memsw.limit_in_bytes", "-1", optional=True)
                _write(folders["memory"] / "memory.limit_in_bytes", str(memory) if memory else "-1")
                _write(folders["memory"] / "memory.memsw.limit_in_bytes", str(memory or -1), optional=True)
                _write(folders["cpu"] / "cpu.cfs_period_us", str(PERIOD_US))
                _write(folders["cpu"] / "cpu.cfs_quota_us", quota or "-1")
        except OSError as err:
            raise LimitsUnavailable(f"cannot set limits in {', '.join(map(str, folders.values()))}: {err}") from None
        return cls(version, list(dict.fromkeys(folders.values())))

    def enter(self, pid: int) -> None:
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def pids(self) -> set[int]:
        return {int(p) for folder in self.folders for p in _read(folder / "cgroup.procs").split()}

    def remove(self, timeout: float = 5.0) -> bool:
        """Delete the groups, killing what the stopped server left in them after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        removed = True
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                removed = False
        return removed


def _write(path: Path, value: str, optional: bool = False) -> None:
    if optional and not path.exists():
        return
    path.write_text(value)


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose ``mem_limit`` and ``cpu_limit`` are enforced (see the module)."""

    cgroup_prefix = Unicode("jupyterhub-", config=True, help="prefix of each server's cgroup name")
    umask = Integer(None, allow_none=True, help="umask of the server's processes (None: inherited)")

    _limits: ServerLimits | None = None

    def cgroup_name(self) -> str:
        server = f"-{self.name}" if self.name else ""  # named servers
        return f"{self.cgroup_prefix}{self.user.name}{server}"

    async def start(self):
        self._limits = None
        if self.mem_limit or self.cpu_limit:
            try:
                self._limits = ServerLimits.create(self.cgroup_name(), self.mem_limit, self.cpu_limit)
            except LimitsUnavailable as err:
                raise RuntimeError(
                    f"{self.user.name}'s server was not started: its memory and CPU limits cannot be applied ({err}). "
                    "Fix the cgroups, or run without limits (COURSE_STUDENT_MEMORY=none COURSE_STUDENT_CPUS=none)."
                ) from None
            self.log.info(
                "%s's server: memory %s, CPUs %s (%s)",
                self.user.name,
                self.mem_limit,
                self.cpu_limit,
                ", ".join(map(str, self._limits.folders)),
            )
        return await super().start()

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        limits, umask = self._limits, self.umask

        def preexec():
            if limits is not None:  # as root, before anything of the user's runs
                limits.enter(os.getpid())
            if umask is not None:
                os.umask(umask)
            become_user()

        return preexec

    async def stop(self, now=False):
        await super().stop(now=now)
        limits = self._limits or self._leftover()
        if limits is not None and not limits.remove():
            self.log.warning("could not remove %s's cgroups %s", self.user.name, limits.folders)
        self._limits = None

    def _leftover(self) -> ServerLimits | None:
        """The groups of a server started before the hub restarted (the hub forgot them)."""
        try:
            version, found = parents(_read(Path("/proc/self/mountinfo")), _read(Path("/proc/self/cgroup")))
        except LimitsUnavailable:
            return None
        folders = [f / self.cgroup_name() for f in dict.fromkeys(found.values()) if (f / self.cgroup_name()).is_dir()]
        return ServerLimits(version, folders) if folders else None


if __name__ == "__main__":
    import sys

    for pid in sys.argv[1:]:
        memory, cpus = limits_of(int(pid))
        shown = (f"{memory} bytes" if memory else "no cap", f"{cpus:g} cores" if cpus else "no cap")
        print(f"{pid}: memory {shown[0]}, CPU {shown[1]}")
