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
* dies with the grader (``--die-with-parent``).

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
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode, default

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

    _sandbox_dir: str | None = None
    _sandbox_cwd: str | None = None
    _cwd_specials: dict = {}

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
        kw["cwd"] = cwd
        # bwrap itself gets a minimal environment too (--clearenv hides it from the kernel anyway).
        kw["env"] = {"PATH": env["PATH"], "LANG": "C.UTF-8"}
        return kernel_cmd, kw

    pre_start_kernel = _async_pre_start_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._remove_sandbox_dir()
            if not await self._async_is_alive():  # nbclient calls this after a crash too
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
