"""Remove the kernel cgroups a killed grader left behind, with whatever still runs in them.

A grader process killed outright (SIGKILL, the OOM killer, a cluster's job limit) cannot delete
its kernels' cgroups. Its kernels die with it (bubblewrap's ``--die-with-parent``, and the
sandbox's PID namespace ends with its init), so such groups are normally empty; but a group
named after a dead process can only be a leftover, and anything still in it can only be a
straggler of a dead grading run: both go before the next run starts.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from .cgroups import CGROUP_PREFIX, KernelGroup, MemoryCapUnavailable, find_cgroup_parent

_OWNER = re.compile(re.escape(CGROUP_PREFIX) + r"(\d+)-[0-9a-f]+$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def leftover_groups(folder: Path) -> list[Path]:
    """The kernel groups directly under ``folder`` whose creator (named in them) has ended."""
    found = []
    with contextlib.suppress(OSError):
        for path in Path(folder).iterdir():
            match = _OWNER.match(path.name)
            if match and path.is_dir() and not _alive(int(match.group(1))):
                found.append(path)
    return found


def sweep(controllers=("memory", "pids")) -> list[Path]:
    """Kill what runs in leftover kernel groups and delete them; the groups removed."""
    removed = []
    for controller in controllers:
        try:
            version, folder = find_cgroup_parent(controller=controller)
        except MemoryCapUnavailable:
            continue  # no such groups are made here either
        for path in leftover_groups(folder):
            if KernelGroup(path, version).remove(timeout=0.5):
                removed.append(path)
    return removed
