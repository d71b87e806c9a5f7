"""Run student kernels inside a bubblewrap (``bwrap``) sandbox.

Submissions are untrusted code. nbgrader executes a notebook through nbclient,
which starts a Jupyter kernel with a jupyter_client kernel manager. Pointing
nbclient (``kernel_manager_class``, for nbgrader ``Execute.kernel_manager_class``)
at :class:`SandboxedKernelManager` runs *only the kernel* under bwrap; nbgrader
and the gradebook stay outside. Inside, the kernel:

* reads the Python environment, the system libraries, a handful of ``/etc``
  files and, from the bundle, only ``coursekit/``, ``data/`` and ``fonts/``
  (not ``solutions/``, ``autograder/``, ``.git``, other students, ``/root``...);
* writes only its working directory (the notebook's folder) and a private
  tmpfs ``/tmp`` (``HOME=/tmp``); symlinks and FIFOs it leaves in the working
  directory are deleted when it ends, before the grader writes there;
* has no network, its own user/PID/IPC/UTS/cgroup namespaces, no capabilities,
  no controlling terminal, and a cleared environment (a whitelist is passed in);
* dies with the grader (``--die-with-parent``);
* with ``memory_limit`` set, runs in its own cgroup capped at that much memory
  (cgroup v2 ``memory.max``, else the v1 memory controller): a runaway allocation
  gets only this kernel OOM-killed, never the grader or another worker's kernel,
  and :meth:`SandboxedKernelManager.oom_killed` tells the grader so afterwards.
  :func:`default_memory_limit` shares the machine between parallel workers; where
  no cgroup can be made (not root, no memory controller, macOS) kernels run
  uncapped and :func:`memory_cap_support` says why. (``RLIMIT_AS`` is no
  substitute: TensorFlow reserves far more address space than it uses.)

How it plugs into jupyter_client (8.x):

* ZMQ runs over IPC sockets (``transport = "ipc"``): the kernel lives in its own
  network namespace, so TCP on 127.0.0.1 would be a different loopback.
  jupyter_client puts the socket files next to the connection file, so each
  kernel gets a fresh private directory (``mkdtemp``, mode 700) for both, bound
  read-write into the sandbox at the same path and deleted at shutdown. The
  shared Jupyter runtime dir is never bound: other kernels' keys live there.
* ``_async_pre_start_kernel`` is the one hook that sees the final kernel
  command, its ``cwd`` and its environment (the provisioner has just written
  the connection file and formatted the command): it wraps the command in bwrap.
* The memory cgroup is entered before the kernel exists: the command becomes a
  tiny shell that writes its own pid into the group's ``cgroup.procs`` and then
  execs bwrap, so nothing runs uncapped even for an instant. The group is
  deleted when the kernel has ended, right after reading whether it was OOM-killed.
* Interrupts are sent as ``interrupt_request`` messages on the control channel
  (kernelspec ``interrupt_mode = "message"``). Signal mode cannot work here:
  jupyter_client signals the process group of the process it started, i.e.
  bwrap itself, and bwrap dies of SIGINT, taking the kernel with it.

``SANDBOX=auto|require|off`` (see :func:`decide`) chooses what happens on a
machine without bwrap: ``auto`` warns loudly and runs unsandboxed, ``require``
refuses to grade.
"""
from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, TraitError, Unicode, default, validate

from . import ROOT

MODES = ("auto", "require", "off")
ENV_VAR = "SANDBOX"

#: Environment variables copied from the grader into the kernel when set
#: (everything else, tokens and keys included, stays outside).
ENV_KEEP = ("COURSE_PROFILE", "TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "PYTHONHASHSEED", "MPLBACKEND")

#: The bundle folders a lab needs: the helper package, the data sets, the CJK font.
BUNDLE_READONLY = ("coursekit", "data", "fonts")

#: /etc files the kernel needs; /etc as a whole holds ssh host keys, shadow, etc.
ETC_FILES = (
    "/etc/ld.so.cache",      # the dynamic loader's library index (TensorFlow loads many .so)
    "/etc/localtime",        # time zone for time.localtime / logging timestamps
    "/etc/passwd",           # getpwuid(): getpass.getuser() and friends
    "/etc/group",
    "/etc/nsswitch.conf",    # how glibc looks up users/hosts
    "/etc/hosts",            # "localhost" resolves without DNS (there is no network)
    "/etc/fonts",            # fontconfig configuration (matplotlib, the CJK font)
)

# Merged-/usr systems (Debian 12, Ubuntu, Fedora) have /bin -> usr/bin etc.: these
# are recreated as symlinks, real directories (older systems) are bound read-only.
SYSTEM_TOP = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")

INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`, "
                "Fedora: `sudo dnf install bubblewrap`), or set SANDBOX=off to grade "
                "without a sandbox at your own risk.")


# --------------------------------------------------------------------------- availability

def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def probe() -> tuple[bool, str]:
    """Whether bwrap can build our sandbox here, and why not (cached).

    Runs ``true`` with exactly the flags and mounts used for kernels, so user
    namespaces being disabled, or a container forbidding the /proc mount, show
    up here instead of as a kernel that never starts.
    """
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap sandboxing needs Linux; this is {platform.system()}"
    path = bwrap_path()
    if path is None:
        return False, "bubblewrap (bwrap) is not installed"
    return _probe(path)


@functools.lru_cache(maxsize=None)
def _probe(path: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as work:
        argv = bwrap_argv(["true"], cwd=work, runtime_dir=work, readonly=[], devices=[],
                          env={"PATH": "/usr/bin:/bin"}, bwrap=path)
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as err:
            return False, f"{path} could not be run: {err}"
    if run.returncode != 0:
        detail = (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]
        return False, (f"{path} is installed but cannot create the sandbox here ({detail}); "
                       "user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
                       "AppArmor's apparmor_restrict_unprivileged_userns) or the container "
                       "may forbid mounting /proc")
    return True, f"{path} works"


def mode_from_env(env=os.environ) -> str:
    mode = env.get(ENV_VAR, "").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(f"{ENV_VAR}={env[ENV_VAR]!r} is not valid; use one of: {', '.join(MODES)}")
    return mode


def decide(mode: str) -> tuple[bool, str]:
    """``(use_sandbox, message)`` for a mode; the message is meant to be printed."""
    if mode not in MODES:
        raise ValueError(f"sandbox mode {mode!r} is not valid; use one of: {', '.join(MODES)}")
    if mode == "off":
        return False, ("WARNING: SANDBOX=off: student submissions run UNSANDBOXED, with the "
                       "grader's rights (they can read the solutions and the gradebook, and "
                       "use the network).")
    works, reason = probe()
    if works:
        return True, "Student kernels run inside a bubblewrap sandbox (no network, read-only bundle)."
    if mode == "require":
        raise RuntimeError(f"SANDBOX=require but the sandbox is unavailable: {reason}. {INSTALL_HINT}")
    return False, ("*" * 78 + f"\nWARNING: no sandbox on {platform.system()} {platform.release()}: "
                   f"{reason}.\nStudent submissions run UNSANDBOXED, with the grader's rights "
                   "(they can read the solutions and the gradebook, and use the network).\n"
                   f"{INSTALL_HINT} SANDBOX=require makes this an error.\n" + "*" * 78)


# --------------------------------------------------------------------------- memory caps (cgroups)

KiB = 1024
GiB = KiB ** 3
_UNITS = {"": 1, "K": KiB, "M": KiB ** 2, "G": KiB ** 3, "T": KiB ** 4}

#: Memory kept for the grader (nbgrader, the gradebook, the OS) by :func:`default_memory_limit`.
GRADER_RESERVE = 2 * GiB
#: The smallest cap :func:`default_memory_limit` proposes (importing TensorFlow and a small
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
        raise ValueError(f"memory size {raw!r} is not valid: use a number of bytes or a number "
                         f"with a unit K, M, G or T, e.g. '8G' or '512M'")
    number, unit = match.groups()
    scale = _UNITS[(unit or "").upper()]
    size = int(float(number) * scale) if "." in number else int(number) * scale
    if size <= 0:
        raise ValueError(f"memory size {raw!r} is not valid: it must be positive "
                         f"(an empty memory limit means no cap)")
    return size


def format_size(size: int) -> str:
    """``"11G"``, ``"1536M"``: the largest whole unit (at least M, rounding down)."""
    for unit in ("T", "G"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size // _UNITS['M']}M"


def total_memory() -> int:
    """The memory this grader may use, in bytes: the machine's (``/proc/meminfo``,
    else ``os.sysconf``), or the grader's own cgroup limit when that is smaller."""
    total = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) * KiB
                    break
    except (OSError, ValueError, IndexError):
        pass
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            raise RuntimeError("cannot tell how much memory this machine has") from None
    own = _own_cgroup_limit()
    return min(total, own) if own else total


def default_memory_limit(jobs: int, total_bytes: int | None = None) -> str:
    """A per-kernel cap for ``jobs`` kernels running side by side: the memory
    (``total_bytes``, default :func:`total_memory`) minus 2 GiB for the grader,
    shared evenly, at least 1 GiB; as a :func:`parse_size` string."""
    if int(jobs) < 1:
        raise ValueError(f"the number of parallel workers must be at least 1, not {jobs!r}")
    total = total_memory() if total_bytes is None else int(total_bytes)
    share = (total - GRADER_RESERVE) // int(jobs)
    return format_size(max(share, MIN_KERNEL_MEMORY))


class MemoryCapUnavailable(RuntimeError):
    """No cgroup with a memory controller can be created here (the message says why)."""


def _unescape_mount(path: str) -> str:
    # /proc/self/mountinfo writes space, tab, newline and backslash as octal escapes
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _cgroup_mounts(mountinfo: str) -> list[tuple[str, str, str, list[str]]]:
    """``(fstype, mount point, root inside the hierarchy, super options)`` of every cgroup mount."""
    found = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((tail[0], _unescape_mount(fields[4]), _unescape_mount(fields[3]),
                      tail[2].split(",")))
    return found


def _own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """``{controller: path}`` from /proc/self/cgroup; the cgroup2 path is under ``""``."""
    own = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in (parts[1].split(",") if parts[1] else [""]):
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
    rel = path[len(root):].strip("/")
    where = base / rel if rel else base
    return where if where.is_dir() else base


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _v2_memory_parent(start: Path, top: Path) -> Path | None:
    """The nearest cgroup2 group from ``start`` up to ``top`` whose children get the memory
    controller (enabling it there when allowed: not in a group that holds processes)."""
    here = start
    while True:
        if "memory" in _read(here / "cgroup.subtree_control").split():
            return here
        if "memory" in _read(here / "cgroup.controllers").split():
            try:
                (here / "cgroup.subtree_control").write_text("+memory")
            except OSError:
                pass  # EBUSY (the group holds processes), EACCES...
            if "memory" in _read(here / "cgroup.subtree_control").split():
                return here
        if here == top or top not in here.parents:
            return None
        here = here.parent


def find_cgroup_parent(mountinfo: str | None = None, proc_cgroup: str | None = None) -> tuple[int, Path]:
    """``(cgroup version, folder)`` under which per-kernel memory cgroups are created:
    cgroup v2 when a hierarchy with the memory controller is usable, else the cgroup v1
    memory controller; the folder is the grader's own group (or its nearest usable
    ancestor), so the kernels stay inside whatever limits the grader itself has.
    Raises :class:`MemoryCapUnavailable` with the reason otherwise."""
    if not sys.platform.startswith("linux"):
        raise MemoryCapUnavailable(f"memory caps need Linux cgroups; this is {platform.system()}")
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
        if "memory" not in _read(Path(point) / "cgroup.controllers").split():
            notes.append(f"the cgroup v2 hierarchy at {point} has no memory controller")
            continue
        start = _below_mount(point, root, own.get(""))
        parent = _v2_memory_parent(start, Path(point))
        if parent is not None:
            return 2, parent
        notes.append(f"no group from {start} up to {point} can give its children the memory "
                     f"controller (a group holding processes cannot)")
    for fstype, point, root, options in mounts:
        if fstype == "cgroup" and "memory" in options:
            return 1, _below_mount(point, root, own.get("memory"))
    notes.append("no cgroup v1 memory controller is mounted")
    raise MemoryCapUnavailable("; ".join(notes))


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def _own_cgroup_limit() -> int | None:
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
    limits = [n for n in limits if n < 2 ** 60]  # v1 shows "no limit" as a huge number
    return min(limits) if limits else None


class MemoryCap:
    """A fresh cgroup with a memory limit for one kernel (see :meth:`create`).

    ``wrap(argv)`` makes the command enter the group before it runs; once the kernel
    has ended, :meth:`oom_killed` tells whether the limit killed it and :meth:`remove`
    deletes the group (reading the verdict first: it lives in the group's files).
    """

    def __init__(self, path: Path, version: int, limit: int):
        self.path, self.version, self.limit = Path(path), version, limit

    def __repr__(self) -> str:
        return f"MemoryCap({str(self.path)!r}, v{self.version}, {format_size(self.limit)})"

    @classmethod
    def create(cls, limit: int, parent: tuple[int, Path] | None = None) -> MemoryCap:
        """A new group capped at ``limit`` bytes (RAM plus swap) under ``parent``
        (default :func:`find_cgroup_parent`). Raises :class:`MemoryCapUnavailable`."""
        version, folder = find_cgroup_parent() if parent is None else parent
        path = Path(folder) / f"{CGROUP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
        except OSError as err:
            raise MemoryCapUnavailable(f"cannot create a cgroup in {folder}: {err.strerror or err}") from None
        cap = cls(path, version, limit)
        try:
            if version == 2:
                cap._write("memory.max", str(limit))
                cap._write("memory.swap.max", "0", optional=True)    # no swapping past the cap
                cap._write("memory.oom.group", "1", optional=True)   # an OOM kills the whole kernel
            else:
                cap._write("memory.limit_in_bytes", str(limit))
                cap._write("memory.memsw.limit_in_bytes", str(limit), optional=True)  # RAM + swap
        except OSError as err:
            cap.remove(timeout=0)
            raise MemoryCapUnavailable(f"cannot set a memory limit in {path}: {err.strerror or err}") from None
        return cap

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
        execs it: the same process, capped from its very first instruction."""
        return ["/bin/sh", "-c", _ENTER_CGROUP, "sh", self.procs_file, *argv]

    def pids(self) -> list[int]:
        return [int(p) for p in _read(self.path / "cgroup.procs").split()]

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
                self._kill_all()
                deadline = time.monotonic() + 2
            time.sleep(0.05)

    def _kill_all(self) -> None:
        if (self.path / "cgroup.kill").exists():  # cgroup v2, Linux 5.14+
            try:
                (self.path / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _counter(text: str, name: str) -> int:
    match = re.search(rf"^{re.escape(name)}\s+(\d+)", text, re.M)
    return int(match.group(1)) if match else 0


_warned_uncapped: set = set()


def _warn_uncapped_once(log, limit: str, reason: str) -> None:
    if reason not in _warned_uncapped:
        _warned_uncapped.add(reason)
        log.warning("Sandbox: memory_limit=%s is NOT applied, kernels run uncapped: %s", limit, reason)


@functools.lru_cache(maxsize=None)
def memory_cap_support() -> tuple[bool, str]:
    """Whether kernels can get a memory cap here, and how or why not (cached; meant to be
    printed once by the grader). Creates and removes a test group."""
    try:
        cap = MemoryCap.create(MIN_KERNEL_MEMORY)
    except MemoryCapUnavailable as err:
        return False, (f"WARNING: student kernels run WITHOUT a memory cap: {err}. A runaway "
                       f"allocation can then take the grader down (cgroups need Linux and root, "
                       f"or a delegated cgroup v2 subtree).")
    cap.remove(timeout=1)
    return True, (f"Student kernels get their own memory cap (cgroup v{cap.version} under "
                  f"{cap.path.parent}).")


# --------------------------------------------------------------------------- the bwrap command

def gpu_device_paths(dev_dir: str = "/dev") -> list[str]:
    """Every NVIDIA device node under ``dev_dir`` (nvidia0..N, nvidiactl, nvidia-uvm,
    nvidia-uvm-tools, nvidia-modeset, nvidia-caps/*), sorted; [] without a GPU."""
    dev = Path(dev_dir)
    found = [p for p in dev.glob("nvidia*") if not p.is_dir()]
    found += [p for p in (dev / "nvidia-caps").glob("*") if not p.is_dir()]
    return sorted(str(p) for p in found)


def _depth(path: str) -> int:
    return len(Path(path).parts)


def bwrap_argv(kernel_cmd: list[str], *, cwd: str, runtime_dir: str, readonly: list[str],
               devices: list[str], env: dict[str, str], bwrap: str = "bwrap") -> list[str]:
    """The full command line running ``kernel_cmd`` in the sandbox.

    ``readonly``: absolute (real) paths bound read-only at the same place;
    ``cwd`` and ``runtime_dir`` (connection file + ZMQ sockets) are bound
    read-write; ``devices`` are device nodes passed through (GPUs); ``env`` is
    the kernel's whole environment. Only the system layout (which of /bin, /lib...
    are symlinks) is read from the file system.
    """
    argv = [bwrap,
            "--unshare-all",       # new user, PID, IPC, UTS, cgroup and network namespaces
            "--unshare-net",       # (part of --unshare-all; spelled out: only a loopback, no network)
            "--die-with-parent",   # SIGKILL the sandbox when the grader dies
            "--new-session",       # no controlling terminal: no TIOCSTI keystroke injection
            "--cap-drop", "ALL",   # no capabilities even when the grader runs as root
            "--clearenv"]          # nothing from the grader's environment...
    for name, value in env.items():
        argv += ["--setenv", name, value]   # ...except this whitelist

    # Mounts, applied parents first so that deeper ones win (a read-only folder
    # inside the read-write cwd stays read-only, and vice versa).
    mounts: list[tuple[str, list[str]]] = [
        ("/usr", ["--ro-bind", "/usr", "/usr"]),     # system programs and libraries
        ("/proc", ["--proc", "/proc"]),              # a fresh procfs for the new PID namespace
        ("/dev", ["--dev", "/dev"]),                 # null, zero, urandom, tty, private shm...
        ("/tmp", ["--tmpfs", "/tmp"]),               # private scratch space, HOME
        # TensorFlow and glibc count CPUs and read cache sizes here:
        ("/sys/devices/system/cpu", ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]),
    ]
    for top in SYSTEM_TOP:
        if os.path.islink(top):
            mounts.append((top, ["--symlink", os.readlink(top), top]))
        else:
            mounts.append((top, ["--ro-bind-try", top, top]))
    for path in ETC_FILES:
        mounts.append((path, ["--ro-bind-try", path, path]))
    if devices:  # the CUDA driver looks up the GPUs' PCI topology (NUMA node...) in sysfs
        for path in ("/sys/bus/pci", "/sys/devices"):
            mounts.append((path, ["--ro-bind-try", path, path]))
    for path in devices:
        mounts.append((path, ["--dev-bind", path, path]))  # GPUs: device nodes need --dev-bind
    for path in readonly:
        mounts.append((path, ["--ro-bind-try", path, path]))
    mounts.append((cwd, ["--bind", cwd, cwd]))                        # the notebook's folder
    mounts.append((runtime_dir, ["--bind", runtime_dir, runtime_dir]))  # connection file + sockets
    for _, args in sorted(mounts, key=lambda m: _depth(m[0])):  # sorted() is stable
        argv += args

    return argv + ["--chdir", cwd, "--", *kernel_cmd]


def sandbox_env(parent_env: dict[str, str], keep=ENV_KEEP) -> dict[str, str]:
    """The kernel's environment: a fixed base plus the ``keep`` variables that are set."""
    env = {
        "PATH": os.pathsep.join([os.path.join(sys.prefix, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLCONFIGDIR": "/tmp/matplotlib",
    }
    env.update({name: parent_env[name] for name in keep if name in parent_env})
    # Never JPY_PARENT_PID: ipykernel would poll a PID that is not in its PID namespace and exit.
    env.pop("JPY_PARENT_PID", None)
    return env


def _special_entries(folder: str) -> dict[str, str]:
    """``{path: what it is}`` for everything under ``folder`` that is neither a regular
    file nor a directory: symlinks (with their target), FIFOs, sockets."""
    found = {}
    for top, dirs, files in os.walk(folder):  # does not follow symlinks
        for name in dirs + files:
            path = os.path.join(top, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode):
                found[path] = "-> " + os.readlink(path)
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                found[path] = f"mode {mode:o}"
    return found


def _exposes(path: str) -> bool:
    """Whether binding ``path`` would show the whole bundle, the home folder or the root."""
    p = Path(path)
    return any(p == q or p in q.parents for q in (ROOT, Path.home().resolve()))


# --------------------------------------------------------------------------- kernel manager

class SandboxedKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs inside bwrap (see the module docstring)."""

    extra_readonly = List(Unicode(), config=True,
                          help="More host paths the kernel may read (bound read-only, same path).")
    env_keep = List(Unicode(), default_value=list(ENV_KEEP), config=True,
                    help="Environment variables copied from the grader into the kernel when set.")
    memory_limit = Unicode("", config=True,
                           help="Memory cap for the kernel (RAM + swap), e.g. '8G' or '512M' (see "
                                "parse_size); '' for none. Past it the kernel alone is OOM-killed "
                                "(see oom_killed()). Needs a cgroup memory controller; without one "
                                "the kernel runs uncapped and memory_cap_problem says why.")

    _sandbox_dir: str | None = None
    _sandbox_cwd: str | None = None
    _cwd_specials: dict = {}
    _memory_cap: MemoryCap | None = None
    _oom: bool = False
    #: Why the current (or last) kernel runs without the requested ``memory_limit``; None
    #: when it is capped or no cap was asked for.
    memory_cap_problem: str | None = None

    @validate("memory_limit")
    def _check_memory_limit(self, proposal) -> str:
        value = proposal["value"].strip()
        if value:
            try:
                parse_size(value)
            except ValueError as err:
                raise TraitError(f"SandboxedKernelManager.memory_limit: {err}") from None
        return value

    @property
    def memory_cap(self) -> MemoryCap | None:
        """The cgroup capping the running kernel (None without a cap or once it has ended)."""
        return self._memory_cap

    def oom_killed(self) -> bool:
        """Whether the kernel hit its memory cap and was killed for it (strictly: whether
        the OOM killer struck in the kernel's cgroup; on cgroup v2 it then kills the whole
        kernel, on v1 the biggest process, normally the kernel itself).

        Meant for after the kernel died (nbclient's DeadKernelError): then it reads the
        kernel's cgroup, and after cleanup (shutdown_kernel, nbclient's own clean-up)
        the answer recorded just before the group was removed. False without a cap.
        """
        if self._memory_cap is not None:
            return self._memory_cap.oom_killed(died=not self._process_running())
        return self._oom

    def _process_running(self) -> bool:
        process = getattr(self.provisioner, "process", None)  # LocalProvisioner's Popen
        return process is not None and process.poll() is None

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"  # the kernel is in another network namespace

    @property
    def kernel_spec(self):
        # Interrupt with a control-channel message: a SIGINT would hit bwrap, not the kernel.
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    def readonly_paths(self) -> list[str]:
        """What the kernel may read besides the system: Python, the bundle's lab folders, extras."""
        paths = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix,
                                                sys.base_exec_prefix)}
        paths |= {str(ROOT / name) for name in BUNDLE_READONLY}
        paths |= {os.path.realpath(p) for p in self.extra_readonly}
        bad = sorted(p for p in paths if _exposes(p))
        if bad:
            raise ValueError(f"refusing to expose {bad} to student code: each would show the "
                             f"whole bundle ({ROOT}) or the home folder")
        return sorted(paths)

    async def _async_pre_start_kernel(self, **kw):
        bwrap = bwrap_path()
        if bwrap is None:
            raise RuntimeError(f"SandboxedKernelManager: bwrap is not installed. {INSTALL_HINT}")
        cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        if _exposes(cwd):
            raise ValueError(f"refusing to run a sandboxed kernel in {cwd}: it would be writable "
                             f"and show the whole bundle or home folder; pass the notebook's folder "
                             f"as cwd")
        readonly = self.readonly_paths()
        if self._sandbox_cwd != cwd:  # not on restarts: what the kernel left is not "given"
            self._sandbox_cwd, self._cwd_specials = cwd, _special_entries(cwd)
        if self._sandbox_dir is None:  # a restart keeps the directory (and connection file)
            self._sandbox_dir = os.path.realpath(tempfile.mkdtemp(prefix="kernel-sandbox-"))
            self.connection_file = os.path.join(self._sandbox_dir, "kernel.json")
            self.ip = os.path.join(self._sandbox_dir, "ipc")  # socket files: <ip>-<port>

        # The provisioner writes the connection file and formats the command here.
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self.ipykernel:
            # Inside its PID namespace the kernel's parent *is* PID 1 (bwrap's init), which
            # ipykernel knows never goes away: no parent poller, and no "Ctrl-C will not
            # work" banner with the connection details printed on the grader's stdout.
            kernel_cmd = [*kernel_cmd, "--IPKernelApp.parent_handle=1"]
        env = sandbox_env(kw.get("env") or dict(os.environ), self.env_keep)
        kernel_cmd = bwrap_argv(kernel_cmd, cwd=cwd, runtime_dir=self._sandbox_dir,
                                readonly=readonly, devices=gpu_device_paths(), env=env, bwrap=bwrap)
        kernel_cmd = self._cap_memory(kernel_cmd)
        kw["cwd"] = cwd
        # bwrap itself gets a minimal environment too (--clearenv hides it from the kernel anyway).
        kw["env"] = {"PATH": env["PATH"], "LANG": "C.UTF-8"}
        return kernel_cmd, kw

    pre_start_kernel = _async_pre_start_kernel

    def _cap_memory(self, kernel_cmd: list[str]) -> list[str]:
        """``kernel_cmd`` entering a fresh capped cgroup, or unchanged without ``memory_limit``
        or when no cgroup can be made (then ``memory_cap_problem`` says why)."""
        self._release_memory_cap()  # a restart: the previous kernel's group
        self._oom = False
        self.memory_cap_problem = None
        if not self.memory_limit:
            return kernel_cmd
        try:
            self._memory_cap = MemoryCap.create(parse_size(self.memory_limit))
        except MemoryCapUnavailable as err:
            self.memory_cap_problem = str(err)
            _warn_uncapped_once(self.log, self.memory_limit, str(err))
            return kernel_cmd
        self.log.debug("Sandbox: kernel memory capped at %s in %s", self.memory_limit,
                       self._memory_cap.path)
        return self._memory_cap.wrap(kernel_cmd)

    def _release_memory_cap(self, died: bool = True) -> None:
        """Record whether the cap killed the kernel, then delete its cgroup."""
        cap, self._memory_cap = self._memory_cap, None
        if cap is not None:
            self._oom = cap.oom_killed(died=died)
            if not cap.remove():
                self.log.warning("Sandbox: could not remove the kernel's cgroup %s", cap.path)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        alive = await self._async_is_alive()  # nbclient calls this after a crash too
        # The kernel has ended (shut down, or died): its group goes, restarts get a new one.
        self._release_memory_cap(died=not alive)
        if not restart:
            self._remove_sandbox_dir()
            if not alive:
                self._remove_planted_links()

    cleanup_resources = _async_cleanup_resources

    def _remove_sandbox_dir(self) -> None:
        if self._sandbox_dir is not None:
            shutil.rmtree(self._sandbox_dir, ignore_errors=True)
            self._sandbox_dir = None

    def _remove_planted_links(self) -> None:
        # The kernel could write its cwd, and the grader (outside, with its own rights)
        # then writes the graded notebook and reads it back there. A symlink planted in
        # place of that notebook would make the grader overwrite or read any file it can
        # (the gradebook, the solutions), a FIFO would hang it. So once the kernel is
        # dead, what it created there that is not a plain file or folder goes.
        if self._sandbox_cwd is None:
            return
        for path, kind in _special_entries(self._sandbox_cwd).items():
            if self._cwd_specials.get(path) != kind:
                self.log.warning("Sandbox: removing %s (%s) left in %s by the kernel",
                                 path, kind, self._sandbox_cwd)
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self._sandbox_cwd = None

    def __del__(self) -> None:
        super().__del__()
        self._remove_sandbox_dir()
        if self._memory_cap is not None:
            self._memory_cap.remove(timeout=0)
            self._memory_cap = None
