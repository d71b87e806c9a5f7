"""Run student kernels inside a bubblewrap (``bwrap``) sandbox.

Submissions are untrusted code. nbgrader executes a notebook through nbclient,
which starts a Jupyter kernel with a jupyter_client kernel manager. Pointing
nbclient at :class:`coursegrader.sandbox.kernel.SandboxedKernelManager` runs *only the
kernel* under bwrap; nbgrader, the verdicts and the gradebook stay outside.

* this module: is the sandbox available here, and what ``SANDBOX=auto|require|off``
  makes of that (:func:`decide`);
* :mod:`.bwrap`: the bwrap command line (what the kernel sees, reads and writes);
* :mod:`.cgroups`: a memory cap per kernel;
* :mod:`.kernel`: the kernel manager that puts the three together.

``auto`` warns loudly and runs unsandboxed on a machine without bwrap,
``require`` refuses to grade.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
import tempfile

from ..errors import ConfigurationError
from .bwrap import bwrap_argv, bwrap_path

MODES = ("auto", "require", "off")
ENV_VAR = "SANDBOX"

INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`, "
    "Fedora: `sudo dnf install bubblewrap`), or set SANDBOX=off to grade "
    "without a sandbox at your own risk."
)


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


@functools.cache
def _probe(path: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory() as work:
        argv = bwrap_argv(
            ["true"],
            cwd=work,
            runtime_dir=work,
            readonly=[],
            devices=[],
            env={"PATH": "/usr/bin:/bin"},
            bwrap=path,
            tmpfs_size=2**20,  # the limited sandbox's mounts too (sized tmpfs, read-only /dev)
        )
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as err:
            return False, f"{path} could not be run: {err}"
    if run.returncode != 0:
        detail = (run.stderr.strip().splitlines() or [f"exit code {run.returncode}"])[-1]
        return False, (
            f"{path} is installed but cannot create the sandbox here ({detail}); "
            "user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
            "AppArmor's apparmor_restrict_unprivileged_userns) or the container "
            "may forbid mounting /proc"
        )
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
        return False, (
            "WARNING: SANDBOX=off: student submissions run UNSANDBOXED, with the "
            "grader's rights (they can read the solutions and the gradebook, and "
            "use the network)."
        )
    works, reason = probe()
    if works:
        return True, "Student kernels run inside a bubblewrap sandbox (no network, read-only bundle)."
    if mode == "require":
        raise ConfigurationError(f"SANDBOX=require but the sandbox is unavailable: {reason}. {INSTALL_HINT}")
    return False, (
        "*" * 78 + f"\nWARNING: no sandbox on {platform.system()} {platform.release()}: "
        f"{reason}.\nStudent submissions run UNSANDBOXED, with the grader's rights "
        "(they can read the solutions and the gradebook, and use the network).\n"
        f"{INSTALL_HINT} SANDBOX=require makes this an error.\n" + "*" * 78
    )
