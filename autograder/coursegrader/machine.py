"""What this machine offers the grader: memory (a container's limit included), cores, GPUs.

One home for these facts: the workers (:mod:`.workers`) and the kernels' memory caps
(:mod:`.sandbox.cgroups`) size themselves from here.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .sandbox.cgroups import MIN_KERNEL_MEMORY, KiB, format_size, own_cgroup_limit

#: Memory kept for the grader itself (nbgrader, the gradebook, the OS) when sharing the rest.
GRADER_RESERVE = 2 * 2**30


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
    own = own_cgroup_limit()
    return min(total, own) if own else total


def default_memory_limit(jobs: int, total_bytes: int | None = None) -> str:
    """A per-kernel cap for ``jobs`` kernels running side by side: the memory
    (``total_bytes``, default :func:`total_memory`) minus :data:`GRADER_RESERVE`,
    shared evenly, at least 1 GiB; as a size string (``"11G"``)."""
    if int(jobs) < 1:
        raise ValueError(f"the number of parallel workers must be at least 1, not {jobs!r}")
    total = total_memory() if total_bytes is None else int(total_bytes)
    share = (total - GRADER_RESERVE) // int(jobs)
    return format_size(max(share, MIN_KERNEL_MEMORY))


def visible_gpus(env=os.environ) -> list[str]:
    """GPU ids a worker can be given: ``CUDA_VISIBLE_DEVICES`` if set, else what nvidia-smi lists."""
    if "CUDA_VISIBLE_DEVICES" in env:
        return [g.strip() for g in env["CUDA_VISIBLE_DEVICES"].split(",") if g.strip() and g.strip() != "-1"]
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]
