"""The bubblewrap command line of a student kernel: what it sees, reads and writes.

Inside, the kernel:

* reads the Python environment, the system libraries, a handful of ``/etc``
  files and, from the bundle, only the lab library ``coursekit/``, the data (with
  the held-out truth withheld while grading) and ``fonts/`` (not ``solutions/``,
  ``autograder/`` and the grader, ``.git``, other students, ``/root``...);
* writes only its working directory (the notebook's folder), its socket folder and a private
  tmpfs ``/tmp`` (``HOME=/tmp``) and ``/dev/shm``, each tmpfs no larger than its disk limit
  (``/dev`` itself is read-only); symlinks and FIFOs it leaves in the working directory are
  deleted when it ends, before the grader writes there;
* runs under resource limits it cannot raise, set inside its user namespace before the kernel
  starts (:func:`rlimited`): no core dumps, no file larger than its disk limit, and, where no
  pids cgroup can be had, ``RLIMIT_NPROC``;
* has no network, its own user/PID/IPC/UTS/cgroup namespaces, no capabilities,
  no controlling terminal, and a cleared environment (a whitelist is passed in);
* dies with the grader (``--die-with-parent``).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from coursekit import ROOT

#: Environment variables copied from the grader into the kernel when set
#: (everything else, tokens and keys included, stays outside).
ENV_KEEP = (
    "COURSE_PROFILE",
    "TF_CPP_MIN_LOG_LEVEL",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "PYTHONHASHSEED",
    "MPLBACKEND",
    "COURSE_DATA_DIR",
    "COURSEKIT_EVIDENCE",
)

#: The grader's data copy with the truth withheld, and its request file (both mounted read-only).
DATA_ENV, REQUESTS_ENV = "COURSE_DATA_DIR", "COURSEKIT_EVIDENCE"

#: The bundle folders every lab needs: the lab library and the CJK font (the data is mounted
#: separately: the grader's copy with the truth withheld, see coursegrader.withhold).
BUNDLE_READONLY = ("coursekit", "fonts")

#: /etc files the kernel needs; /etc as a whole holds ssh host keys, shadow, etc.
ETC_FILES = (
    "/etc/ld.so.cache",  # the dynamic loader's library index (TensorFlow loads many .so)
    "/etc/localtime",  # time zone for time.localtime / logging timestamps
    "/etc/passwd",  # getpwuid(): getpass.getuser() and friends
    "/etc/group",
    "/etc/nsswitch.conf",  # how glibc looks up users/hosts
    "/etc/hosts",  # "localhost" resolves without DNS (there is no network)
    "/etc/fonts",  # fontconfig configuration (matplotlib, the CJK font)
)

# Merged-/usr systems (Debian 12, Ubuntu, Fedora) have /bin -> usr/bin etc.: these
# are recreated as symlinks, real directories (older systems) are bound read-only.
SYSTEM_TOP = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def supports_tmpfs_size(bwrap: str) -> bool:
    """Whether this bubblewrap sizes a tmpfs (``--size``, bubblewrap 0.5 and later)."""
    try:
        shown = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in shown


# Run inside the sandbox, by the kernel's own Python, just before it becomes the kernel: limits
# set here cannot be raised by the kernel (that needs CAP_SYS_RESOURCE in the first user
# namespace), and RLIMIT_NPROC set inside the kernel's own user namespace counts only the
# processes of that namespace (Linux 5.14+), never the grader's. A value < 0 leaves a limit alone.
_SET_RLIMITS = """\
import os, resource, sys
for kind, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, int(sys.argv[1])),
                    (resource.RLIMIT_NPROC, int(sys.argv[2]))):
    hard = resource.getrlimit(kind)[1]
    if value >= 0:
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))
os.execvp(sys.argv[3], sys.argv[3:])
"""


def rlimited(kernel_cmd: list[str], file_size: int | None, processes: int | None) -> list[str]:
    """``kernel_cmd`` started under limits it cannot raise: no core dump (a crashing kernel would
    write its whole memory into the working folder), no file above ``file_size`` bytes (one
    ``write`` can never go far past the disk limit), at most ``processes`` tasks (when given)."""
    size = -1 if file_size is None else int(file_size)
    procs = -1 if processes is None else int(processes)
    return [sys.executable, "-I", "-S", "-c", _SET_RLIMITS, str(size), str(procs), *kernel_cmd]


def gpu_device_paths(dev_dir: str = "/dev") -> list[str]:
    """Every NVIDIA device node under ``dev_dir`` (nvidia0..N, nvidiactl, nvidia-uvm,
    nvidia-uvm-tools, nvidia-modeset, nvidia-caps/*), sorted; [] without a GPU."""
    dev = Path(dev_dir)
    found = [p for p in dev.glob("nvidia*") if not p.is_dir()]
    found += [p for p in (dev / "nvidia-caps").glob("*") if not p.is_dir()]
    return sorted(str(p) for p in found)


def _depth(path: str) -> int:
    return len(Path(path).parts)


def bwrap_argv(
    kernel_cmd: list[str],
    *,
    cwd: str,
    runtime_dir: str,
    readonly: list[str],
    devices: list[str],
    env: dict[str, str],
    bwrap: str = "bwrap",
    placed: dict[str, str] | None = None,
    tmpfs_size: int | None = None,
) -> list[str]:
    """The full command line running ``kernel_cmd`` in the sandbox.

    ``readonly``: absolute (real) paths bound read-only at the same place; ``placed``:
    ``{path inside: real path}`` bound read-only elsewhere (the grader's data copy, seen
    at ``data/``);
    ``cwd`` and ``runtime_dir`` (connection file + ZMQ sockets) are bound
    read-write; ``devices`` are device nodes passed through (GPUs); ``env`` is
    the kernel's whole environment. ``tmpfs_size``: the kernel's disk limit, which then
    bounds ``/tmp`` and ``/dev/shm`` (when this bubblewrap can size a tmpfs) and makes ``/dev``
    read-only. Only the system layout (which of /bin, /lib... are symlinks) is read from the
    file system.
    """
    sized = ["--size", str(tmpfs_size)] if tmpfs_size and supports_tmpfs_size(bwrap) else []
    argv = [bwrap, *_isolation(env)]
    # Mounts, applied parents first so that deeper ones win (a read-only folder
    # inside the read-write cwd stays read-only, and vice versa).
    mounts = _mounts(cwd, runtime_dir, readonly, devices, placed or {}, sized, bool(tmpfs_size))
    for _, args in sorted(mounts, key=lambda m: _depth(m[0])):  # sorted() is stable
        argv += args
    if tmpfs_size:  # last: the mounts above need their mount points created in /dev
        argv += ["--remount-ro", "/dev"]

    return [*argv, "--chdir", cwd, "--", *kernel_cmd]


def _isolation(env: dict[str, str]) -> list[str]:
    """bubblewrap's options that cut the kernel off from the grader: namespaces, capabilities,
    terminal, lifetime and environment."""
    argv = [
        "--unshare-all",  # new user, PID, IPC, UTS, cgroup and network namespaces
        "--unshare-net",  # (part of --unshare-all; spelled out: only a loopback, no network)
        "--die-with-parent",  # SIGKILL the sandbox when the grader dies
        "--new-session",  # no controlling terminal: no TIOCSTI keystroke injection
        "--cap-drop",
        "ALL",  # no capabilities even when the grader runs as root
        "--clearenv",
    ]  # nothing from the grader's environment...
    for name, value in env.items():
        argv += ["--setenv", name, value]  # ...except this whitelist
    return argv


def _mounts(
    cwd: str,
    runtime_dir: str,
    readonly: list[str],
    devices: list[str],
    placed: dict[str, str],
    sized: list[str],
    bounded: bool,
) -> list[tuple[str, list[str]]]:
    """Every mount of the sandbox as (mount point, bubblewrap options), in no particular order
    (``sized``: the ``--size`` of the bounded tmpfs; ``bounded``: a disk limit is set)."""
    mounts: list[tuple[str, list[str]]] = [
        ("/usr", ["--ro-bind", "/usr", "/usr"]),  # system programs and libraries
        ("/proc", ["--proc", "/proc"]),  # a fresh procfs for the new PID namespace
        ("/dev", ["--dev", "/dev"]),  # null, zero, urandom, tty, private shm...
        ("/tmp", [*sized, "--tmpfs", "/tmp"]),  # private scratch space, HOME
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
    for inside, real in placed.items():
        mounts.append((inside, ["--ro-bind", real, inside]))
    mounts.append((cwd, ["--bind", cwd, cwd]))  # the notebook's folder
    mounts.append((runtime_dir, ["--bind", runtime_dir, runtime_dir]))  # connection file + sockets
    if bounded:  # the tmpfs under /dev is writable and unbounded: a sized /dev/shm instead
        mounts.append(("/dev/shm", [*sized, "--tmpfs", "/dev/shm"]))
    return mounts


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
