"""A memory cap per student kernel (cgroups).

With ``memory_limit`` set, a kernel runs in its own cgroup capped at that much
memory (cgroup v2 ``memory.max``, else the v1 memory controller): a runaway
allocation gets only this kernel OOM-killed, never the grader or another
worker's kernel. :func:`coursegrader.machine.default_memory_limit` shares the machine between
parallel workers; where no cgroup can be made (not root, no memory controller,
macOS) kernels run uncapped and :func:`memory_cap_support` says why.
(``RLIMIT_AS`` is no substitute: TensorFlow reserves far more address space
than it uses.)

The cgroup is entered before the kernel exists: the command becomes a tiny
shell that writes its own pid into the group's ``cgroup.procs`` and then execs
bwrap, so nothing runs uncapped even for an instant. The group is deleted when
the kernel has ended, right after reading whether it was OOM-killed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import re
import signal
import sys
import time
import uuid
from pathlib import Path

KiB = 1024
GiB = KiB**3
_UNITS = {"": 1, "K": KiB, "M": KiB**2, "G": KiB**3, "T": KiB**4}

#: The smallest cap :func:`coursegrader.machine.default_memory_limit` proposes (importing TensorFlow and a small
#: Keras fit peak at about 330 MiB, file cache included).
MIN_KERNEL_MEMORY = 1 * GiB

#: Prefix of the per-kernel cgroups (the rest is the grader's pid and a random suffix).
CGROUP_PREFIX = "coursekit-kernel-"

# The shell that puts itself into the kernel's cgroup and then becomes bwrap: the kernel is
# capped from its first instruction on (moving a pid after the start would leave a window).
_ENTER_CGROUP = 'echo $$ > "$1" && shift && exec "$@"'


_SIZE = re.compile(r"(\d+(?:\.\d*)?)\s*(?:([KMGT])(?:I?B)?|B)?", re.I)


def parse_size(text: str) -> int:
    """Bytes in a size such as ``"8G"``, ``"512M"``, ``"300MiB"``, ``"1.5G"`` or ``"1048576"``.

    Units are binary (K = 1024, as for cgroups and Docker), case-insensitive, with an
    optional ``B``/``iB``. Raises ValueError for anything else and for a zero size.
    """
    raw = str(text)
    match = _SIZE.fullmatch(raw.strip())
    if match is None:
        raise ValueError(
            f"memory size {raw!r} is not valid: use a number of bytes or a number "
            f"with a unit K, M, G or T, e.g. '8G' or '512M'"
        )
    number, unit = match.groups()
    scale = _UNITS[(unit or "").upper()]
    size = int(float(number) * scale) if "." in number else int(number) * scale
    if size <= 0:
        raise ValueError(f"memory size {raw!r} is not valid: it must be positive (an empty memory limit means no cap)")
    return size


def format_size(size: int) -> str:
    """``"11G"``, ``"1536M"``: the largest whole unit (at least M, rounding down)."""
    for unit in ("T", "G"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size // _UNITS['M']}M"


class MemoryCapUnavailable(RuntimeError):
    """No cgroup with a memory controller can be created here (the message says why)."""


def _unescape_mount(path: str) -> str:
    # /proc/self/mountinfo writes space, tab, newline and backslash as octal escapes
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


# autograder/hub/coursespawner.py reads mountinfo and /proc/self/cgroup the same way in its own
# copy, on purpose: JupyterHub loads that file from its configuration folder, without the grader.
def _cgroup_mounts(mountinfo: str) -> list[tuple[str, str, str, list[str]]]:
    """``(fstype, mount point, root inside the hierarchy, super options)`` of every cgroup mount."""
    found = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((tail[0], _unescape_mount(fields[4]), _unescape_mount(fields[3]), tail[2].split(",")))
    return found


def _own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """``{controller: path}`` from /proc/self/cgroup; the cgroup2 path is under ``""``."""
    own = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                own[name] = parts[2]
    return own


def _below_mount(mount_point: str, mount_root: str, path: str | None) -> Path:
    """Where ``path`` (a cgroup path as /proc/self/cgroup shows it) is under the mount, or
    the mount point itself when the path is not visible there (another cgroup namespace)."""
    base = Path(mount_point)
    if path is None:
        return base
    root = mount_root.rstrip("/")
    if root and not (path == root or path.startswith(root + "/")):
        return base
    rel = path[len(root) :].strip("/")
    where = base / rel if rel else base
    return where if where.is_dir() else base


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _v2_parent(start: Path, top: Path, controller: str = "memory") -> Path | None:
    """The nearest cgroup2 group from ``start`` up to ``top`` whose children get ``controller``
    (enabling it there when allowed: not in a group that holds processes)."""
    here = start
    while True:
        if controller in _read(here / "cgroup.subtree_control").split():
            return here
        if controller in _read(here / "cgroup.controllers").split():
            try:
                (here / "cgroup.subtree_control").write_text(f"+{controller}")
            except OSError:
                pass  # EBUSY (the group holds processes), EACCES...
            if controller in _read(here / "cgroup.subtree_control").split():
                return here
        if here == top or top not in here.parents:
            return None
        here = here.parent


def find_cgroup_parent(
    mountinfo: str | None = None, proc_cgroup: str | None = None, controller: str = "memory"
) -> tuple[int, Path]:
    """``(cgroup version, folder)`` under which per-kernel cgroups with ``controller`` (memory,
    pids) are created: cgroup v2 when a hierarchy with that controller is usable, else its
    cgroup v1 hierarchy; the folder is the grader's own group (or its nearest usable
    ancestor), so the kernels stay inside whatever limits the grader itself has.
    Raises :class:`MemoryCapUnavailable` with the reason otherwise."""
    if not sys.platform.startswith("linux"):
        raise MemoryCapUnavailable(f"{controller} caps need Linux cgroups; this is {platform.system()}")
    try:
        mountinfo = _read_text("/proc/self/mountinfo") if mountinfo is None else mountinfo
        proc_cgroup = _read_text("/proc/self/cgroup") if proc_cgroup is None else proc_cgroup
    except OSError as err:
        raise MemoryCapUnavailable(f"cannot read the cgroup set-up: {err}") from None
    mounts, own = _cgroup_mounts(mountinfo), _own_cgroups(proc_cgroup)
    notes = []
    for fstype, point, root, _ in mounts:
        if fstype != "cgroup2":
            continue
        if controller not in _read(Path(point) / "cgroup.controllers").split():
            notes.append(f"the cgroup v2 hierarchy at {point} has no {controller} controller")
            continue
        start = _below_mount(point, root, own.get(""))
        parent = _v2_parent(start, Path(point), controller)
        if parent is not None:
            return 2, parent
        notes.append(
            f"no group from {start} up to {point} can give its children the {controller} "
            f"controller (a group holding processes cannot)"
        )
    for fstype, point, root, options in mounts:
        if fstype == "cgroup" and controller in options:
            return 1, _below_mount(point, root, own.get(controller))
    notes.append(f"no cgroup v1 {controller} controller is mounted")
    raise MemoryCapUnavailable("; ".join(notes))


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def own_cgroup_limit() -> int | None:
    """The tightest memory limit on the cgroup this process is in (or its ancestors), if any."""
    try:
        mounts = _cgroup_mounts(_read_text("/proc/self/mountinfo"))
        own = _own_cgroups(_read_text("/proc/self/cgroup"))
    except OSError:
        return None
    limits = []
    for fstype, point, root, options in mounts:
        if fstype == "cgroup2":
            path, limit_file = own.get(""), "memory.max"
        elif "memory" in options:
            path, limit_file = own.get("memory"), "memory.limit_in_bytes"
        else:
            continue
        top = Path(point)
        here = _below_mount(point, root, path)
        while True:
            text = _read(here / limit_file).strip()
            if text.isdigit():
                limits.append(int(text))
            if here == top or top not in here.parents:
                break
            here = here.parent
    limits = [n for n in limits if n < 2**60]  # v1 shows "no limit" as a huge number
    return min(limits) if limits else None


class KernelGroup:
    """A cgroup made for one kernel: entered before the kernel exists (:meth:`wrap`), emptied
    and deleted once it has ended (:meth:`remove`)."""

    def __init__(self, path: Path, version: int):
        self.path, self.version = Path(path), version

    @staticmethod
    def new_path(folder: Path) -> Path:
        """A fresh group's path under ``folder``, naming this process (so that groups left by a
        grader that was killed can be told from those of a live one: see ``sandbox.sweep``)."""
        return Path(folder) / f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"

    @classmethod
    def made_in(cls, folder: Path, unavailable: type[Exception]) -> Path:
        """A new, empty group under ``folder`` (:meth:`new_path`); ``unavailable`` saying why when
        the folder refuses it."""
        path = cls.new_path(folder)
        try:
            path.mkdir()
        except OSError as err:
            raise unavailable(f"cannot create a cgroup in {folder}: {err.strerror or err}") from None
        return path

    def _write(self, name: str, value: str, optional: bool = False) -> None:
        target = self.path / name
        if optional and not target.exists():
            return
        target.write_text(value)

    @property
    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first writes its own pid into the group, then
        execs it: the same process, in the group from its very first instruction."""
        return ["/bin/sh", "-c", _ENTER_CGROUP, "sh", self.procs_file, *argv]

    def pids(self) -> list[int]:
        return [int(p) for p in _read(self.path / "cgroup.procs").split()]

    def remove(self, timeout: float = 5.0) -> bool:
        """Delete the group once its processes are gone; what is still in it after
        ``timeout`` seconds (only this kernel's processes can be) is killed first."""
        deadline = time.monotonic() + timeout
        killed = False
        while True:
            try:
                self.path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                pass
            if time.monotonic() >= deadline:
                if killed or timeout == 0:
                    return False
                killed = True
                self.kill_all()
                deadline = time.monotonic() + 2
            time.sleep(0.05)

    def kill_all(self) -> None:
        """SIGKILL every process in the group (the kernel and all it started)."""
        if (self.path / "cgroup.kill").exists():  # cgroup v2, Linux 5.14+
            try:
                (self.path / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass
        for pid in self.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


class MemoryCap(KernelGroup):
    """A fresh cgroup with a memory limit for one kernel (see :meth:`create`).

    ``wrap(argv)`` makes the command enter the group before it runs; once the kernel
    has ended, :meth:`oom_killed` tells whether the limit killed it and :meth:`remove`
    deletes the group (reading the verdict first: it lives in the group's files).
    """

    def __init__(self, path: Path, version: int, limit: int):
        super().__init__(path, version)
        self.limit = limit

    def __repr__(self) -> str:
        return f"MemoryCap({str(self.path)!r}, v{self.version}, {format_size(self.limit)})"

    @classmethod
    def create(cls, limit: int, parent: tuple[int, Path] | None = None) -> MemoryCap:
        """A new group capped at ``limit`` bytes (RAM plus swap) under ``parent``
        (default :func:`find_cgroup_parent`). Raises :class:`MemoryCapUnavailable`."""
        version, folder = find_cgroup_parent() if parent is None else parent
        path = cls.made_in(folder, MemoryCapUnavailable)
        cap = cls(path, version, limit)
        try:
            if version == 2:
                cap._write("memory.max", str(limit))
                cap._write("memory.swap.max", "0", optional=True)  # no swapping past the cap
                cap._write("memory.oom.group", "1", optional=True)  # an OOM kills the whole kernel
            else:
                cap._write("memory.limit_in_bytes", str(limit))
                cap._write("memory.memsw.limit_in_bytes", str(limit), optional=True)  # RAM + swap
        except OSError as err:
            cap.remove(timeout=0)
            raise MemoryCapUnavailable(f"cannot set a memory limit in {path}: {err.strerror or err}") from None
        return cap

    def oom_killed(self, died: bool = True) -> bool:
        """Whether the kernel memory cap killed a process in the group. ``died``: the
        kernel has ended (used only by old cgroup v1 kernels without an OOM-kill count)."""
        if self.version == 2:
            return _counter(_read(self.path / "memory.events"), "oom_kill") > 0
        control = _read(self.path / "memory.oom_control")
        if re.search(r"^oom_kill\s", control, re.M):
            return _counter(control, "oom_kill") > 0
        failcnt = _read(self.path / "memory.failcnt").strip()
        return died and failcnt.isdigit() and int(failcnt) > 0


def _counter(text: str, name: str) -> int:
    match = re.search(rf"^{re.escape(name)}\s+(\d+)", text, re.M)
    return int(match.group(1)) if match else 0


_warned_uncapped: set = set()


def _warn_uncapped_once(log, limit: str, reason: str) -> None:
    if reason not in _warned_uncapped:
        _warned_uncapped.add(reason)
        log.warning("Sandbox: memory_limit=%s is NOT applied, kernels run uncapped: %s", limit, reason)


@functools.cache
def memory_cap_support() -> tuple[bool, str]:
    """Whether kernels can get a memory cap here, and how or why not (cached; meant to be
    printed once by the grader). Creates and removes a test group."""
    try:
        cap = MemoryCap.create(MIN_KERNEL_MEMORY)
    except MemoryCapUnavailable as err:
        return False, (
            f"WARNING: student kernels run WITHOUT a memory cap: {err}. A runaway "
            f"allocation can then take the grader down (cgroups need Linux and root, "
            f"or a delegated cgroup v2 subtree)."
        )
    cap.remove(timeout=1)
    return True, (f"Student kernels get their own memory cap (cgroup v{cap.version} under {cap.path.parent}).")
