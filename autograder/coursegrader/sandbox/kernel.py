"""A jupyter_client kernel manager whose kernel runs in the sandbox.

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
* The memory and pids cgroups are entered before the kernel exists: the command becomes a
  tiny shell that writes its own pid into each group's ``cgroup.procs`` and then
  execs bwrap, so nothing runs uncapped even for an instant. The groups are
  deleted when the kernel has ended, right after reading whether it was OOM-killed.
* The disk limit sizes the sandbox's tmpfs mounts and caps any one file; the
  total the kernel wrote is measured from outside (:meth:`written_places`, read by
  :mod:`coursegrader.limits.watch`), like its processes (:meth:`process_limit_hit`).
* Interrupts are sent as ``interrupt_request`` messages on the control channel
  (kernelspec ``interrupt_mode = "message"``). Signal mode cannot work here:
  jupyter_client signals the process group of the process it started, i.e.
  bwrap itself, and bwrap dies of SIGINT, taking the kernel with it.

"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from typing import ClassVar

from traitlets import Integer, List, Unicode, default, validate

from coursekit import ROOT

from ..limits.channels import CappedKernelManager, size_setting
from ..limits.usage import sandbox_pid, tasks_inside
from . import INSTALL_HINT
from .bwrap import (
    BUNDLE_READONLY,
    DATA_ENV,
    ENV_KEEP,
    REQUESTS_ENV,
    _exposes,
    _special_entries,
    bwrap_argv,
    bwrap_path,
    gpu_device_paths,
    rlimited,
    sandbox_env,
)
from .cgroups import MemoryCap, MemoryCapUnavailable, _warn_uncapped_once, parse_size
from .pids import ProcessCap, ProcessCapUnavailable

#: How far past its disk limit one file or one tmpfs may grow: enough for the grader to see
#: that the limit was passed, not enough to matter.
OVERSHOOT = 2**20


class SandboxedKernelManager(CappedKernelManager):
    """An AsyncKernelManager whose kernel runs inside bwrap (see the module docstring)."""

    extra_readonly = List(
        Unicode(), config=True, help="More host paths the kernel may read (bound read-only, same path)."
    )
    env_keep = List(
        Unicode(),
        default_value=list(ENV_KEEP),
        config=True,
        help="Environment variables copied from the grader into the kernel when set.",
    )
    memory_limit = Unicode(
        "",
        config=True,
        help="Memory cap for the kernel (RAM + swap), e.g. '8G' or '512M' (see "
        "parse_size); '' for none. Past it the kernel alone is OOM-killed "
        "(see oom_killed()). Needs a cgroup memory controller; without one "
        "the kernel runs uncapped and memory_cap_problem says why.",
    )

    disk_limit = Unicode(
        "",
        config=True,
        help="Disk the kernel may write (working folder, socket folder, /tmp, /dev/shm together), "
        "e.g. '1G'; '' for none. Sizes the sandbox's tmpfs mounts and caps any one file "
        "(RLIMIT_FSIZE); the total is measured from outside (written_places).",
    )
    process_limit = Integer(
        0,
        config=True,
        help="Processes and threads the kernel may have at once (cgroup pids.max; without a pids "
        "controller RLIMIT_NPROC in its user namespace, see process_cap_problem); 0 for none.",
    )

    _sandbox_dir: str | None = None
    _sandbox_cwd: str | None = None
    _cwd_specials: ClassVar[dict] = {}  # replaced per kernel, never mutated
    _memory_cap: MemoryCap | None = None
    _process_cap: ProcessCap | None = None
    _oom: bool = False
    _sandboxed_pid: int | None = None
    #: Why the current (or last) kernel runs without the requested ``memory_limit``; None
    #: when it is capped or no cap was asked for.
    memory_cap_problem: str | None = None
    #: Why the current (or last) kernel's process limit is RLIMIT_NPROC instead of a pids cgroup.
    process_cap_problem: str | None = None

    @validate("memory_limit", "disk_limit")
    def _check_size(self, proposal) -> str:
        return size_setting(proposal, "SandboxedKernelManager")

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
        return self.is_running()

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

    def readonly_paths(self, env: dict[str, str] | None = None) -> list[str]:
        """What the kernel may read besides the system, at the same paths: Python, the lab library
        and the font, ``data/`` (unless the grader gives its own copy: see :meth:`placed_paths`),
        the folder of the grader's request file, and the extras."""
        env = {} if env is None else env
        paths = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)}
        paths |= {str(ROOT / name) for name in BUNDLE_READONLY}
        if not env.get(DATA_ENV):
            paths.add(str(ROOT / "data"))
        if env.get(REQUESTS_ENV):
            paths.add(os.path.dirname(os.path.realpath(env[REQUESTS_ENV])))
        paths |= {os.path.realpath(p) for p in self.extra_readonly}
        bad = sorted(p for p in paths if _exposes(p))
        if bad:
            raise ValueError(
                f"refusing to expose {bad} to student code: each would show the "
                f"whole bundle ({ROOT}) or the home folder"
            )
        return sorted(paths)

    @staticmethod
    def placed_paths(env: dict[str, str]) -> dict[str, str]:
        """``{path inside: real path}``: the grader's data copy (``$COURSE_DATA_DIR``, the truth
        withheld) is what the kernel sees at ``data/``, so nothing else of the bundle shows."""
        if not env.get(DATA_ENV):
            return {}
        real = os.path.realpath(env[DATA_ENV])
        env[DATA_ENV] = str(ROOT / "data")
        return {str(ROOT / "data"): real}

    async def _async_pre_start_kernel(self, **kw):
        bwrap = bwrap_path()
        if bwrap is None:
            raise RuntimeError(f"SandboxedKernelManager: bwrap is not installed. {INSTALL_HINT}")
        cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        if _exposes(cwd):
            raise ValueError(
                f"refusing to run a sandboxed kernel in {cwd}: it would be writable "
                f"and show the whole bundle or home folder; pass the notebook's folder "
                f"as cwd"
            )
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
        readonly = self.readonly_paths(env)
        placed = self.placed_paths(env)
        self._make_groups()
        disk = parse_size(self.disk_limit) + OVERSHOOT if self.disk_limit else None
        if disk or self.process_limit:
            nproc = self.process_limit if self.process_limit and self._process_cap is None else None
            kernel_cmd = rlimited(kernel_cmd, file_size=disk, processes=nproc)
        kernel_cmd = bwrap_argv(
            kernel_cmd,
            cwd=cwd,
            runtime_dir=self._sandbox_dir,
            placed=placed,
            readonly=readonly,
            devices=gpu_device_paths(),
            env=env,
            bwrap=bwrap,
            tmpfs_size=disk,
        )
        kernel_cmd = self._enter_groups(kernel_cmd)
        kw["cwd"] = cwd
        # bwrap itself gets a minimal environment too (--clearenv hides it from the kernel anyway).
        kw["env"] = {"PATH": env["PATH"], "LANG": "C.UTF-8"}
        return kernel_cmd, kw

    pre_start_kernel = _async_pre_start_kernel

    def _make_groups(self) -> None:
        """A fresh capped memory group and pids group for the kernel about to start (either is
        None without its limit or when no cgroup can be made; then ``*_cap_problem`` says why)."""
        self._release_groups()  # a restart: the previous kernel's groups
        self._oom = False
        self._sandboxed_pid = None
        self.memory_cap_problem = self.process_cap_problem = None
        if self.memory_limit:
            try:
                self._memory_cap = MemoryCap.create(parse_size(self.memory_limit))
            except MemoryCapUnavailable as err:
                self.memory_cap_problem = str(err)
                _warn_uncapped_once(self.log, self.memory_limit, str(err))
        if self.process_limit:
            try:
                self._process_cap = ProcessCap.create(self.process_limit, self._memory_cap)
            except ProcessCapUnavailable as err:
                self.process_cap_problem = str(err)  # RLIMIT_NPROC instead (rlimited); the grader said so once

    def _enter_groups(self, kernel_cmd: list[str]) -> list[str]:
        for group in (self._process_cap, self._memory_cap):  # the memory group is entered first
            if group is not None:
                kernel_cmd = group.wrap(kernel_cmd)
        return kernel_cmd

    def _cap_memory(self, kernel_cmd: list[str]) -> list[str]:
        """``kernel_cmd`` entering fresh capped groups, or unchanged without limits or cgroups."""
        self._make_groups()
        return self._enter_groups(kernel_cmd)

    def _release_groups(self, died: bool = True) -> None:
        """Record whether the cap killed the kernel, then delete its cgroups."""
        cap, self._memory_cap = self._memory_cap, None
        procs, self._process_cap = self._process_cap, None
        if cap is not None:
            self._oom = cap.oom_killed(died=died)
        for group in (procs, cap):  # the pids group may live in the memory group (cgroup v2)
            if group is not None and not group.remove():
                self.log.warning("Sandbox: could not remove the kernel's cgroup %s", group.path)

    def process_limit_hit(self) -> bool:
        """Whether the kernel tried to have more processes and threads than ``process_limit``."""
        if not self.process_limit:
            return False
        if self._process_cap is not None:
            return self._process_cap.hit()
        pid = self.sandboxed_pid()  # RLIMIT_NPROC: count from outside what runs inside
        return pid is not None and tasks_inside(pid, stop_at=self.process_limit) >= self.process_limit

    def sandboxed_pid(self) -> int | None:
        """A process inside the sandbox's namespaces (its mounts are seen at /proc/<pid>/root)."""
        if self._sandboxed_pid is None and self._process_running():
            self._sandboxed_pid = sandbox_pid(self.provisioner.process.pid)
        return self._sandboxed_pid

    def written_places(self) -> tuple[list[str], list[str]]:
        """Where the kernel can write: ``(folders on the grader's disks, its tmpfs mounts as
        the grader sees them)``; the second is empty when the sandbox cannot be seen into."""
        folders = [p for p in (self._sandbox_cwd, self._sandbox_dir) if p]
        pid = self.sandboxed_pid()
        tmpfs = [f"/proc/{pid}/root/tmp", f"/proc/{pid}/root/dev/shm"] if pid else []
        return folders, tmpfs

    def kill_now(self) -> None:
        """Stop the kernel at once: a limit was passed (everything it started goes with it)."""
        process = getattr(self.provisioner, "process", None)
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()  # bwrap: its init and the whole PID namespace die with it
        for group in (self._process_cap, self._memory_cap):
            if group is not None:
                group.kill_all()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        alive = await self._async_is_alive()  # nbclient calls this after a crash too
        # The kernel has ended (shut down, or died): its groups go, restarts get new ones.
        self._release_groups(died=not alive)
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
                self.log.warning("Sandbox: removing %s (%s) left in %s by the kernel", path, kind, self._sandbox_cwd)
                with contextlib.suppress(OSError):
                    os.unlink(path)
        self._sandbox_cwd = None

    def __del__(self) -> None:
        super().__del__()
        self._remove_sandbox_dir()
        for name in ("_process_cap", "_memory_cap"):
            group = getattr(self, name)
            if group is not None:
                group.remove(timeout=0)
                setattr(self, name, None)
