"""What this machine offers the grader: memory (a container's limit included), cores, GPUs, and
what it keeps for the students when they work on the same machine (a JupyterHub).

One home for these facts: the workers (:mod:`.workers`), the cores a unit may use
(:mod:`.schedule`) and the kernels' memory caps (:mod:`.sandbox.cgroups`) size themselves from here.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from .errors import ConfigurationError
from .sandbox.cgroups import MIN_KERNEL_MEMORY, KiB, format_size, own_cgroup_limit, parse_size

#: Memory kept for the grader itself (nbgrader, the gradebook, the OS) when sharing the rest.
GRADER_RESERVE = 2 * 2**30

#: What grading leaves to the students when it runs on the machine they use, e.g.
#: "cores=50% memory=50%" or "cores=2 memory=8G" ("none" or unset: nothing). The course's
#: JupyterHub gives it to the staff's servers (autograder/hub/jupyterhub_config.py), so a plain
#: `make grade` there leaves the students their share; `make grade RESERVE=...` overrides it.
RESERVE_VAR = "COURSE_HUB_RESERVE"
_RESERVE_ITEM = re.compile(r"(cores|memory)=(\S+)")


@dataclass(frozen=True)
class Reserve:
    """What grading leaves to others on this machine."""

    cores: int = 0  #: cores the grader's workers do not count on
    memory: int = 0  #: bytes the grader's workers and their kernels do not count on

    def __bool__(self) -> bool:
        return bool(self.cores or self.memory)

    def __str__(self) -> str:
        return f"{self.cores} core(s) and {format_size(self.memory)} of memory" if self else "nothing"


def parse_reserve(text: str, cores: int, memory: int) -> Reserve:
    """``"cores=50% memory=8G"`` on a machine with ``cores`` cores and ``memory`` bytes; a share
    is rounded up. ``"none"`` or ``""``: nothing. Raises ConfigurationError with what to write."""
    text = (text or "").strip()
    if text.lower() in ("", "none", "0"):
        return Reserve()
    found = dict(_RESERVE_ITEM.findall(text))
    try:
        if not found or _RESERVE_ITEM.sub("", text).strip(" ,"):
            raise ValueError("unknown words")
        kept_cores = _share(found.get("cores", "0"), cores, int)
        kept_memory = _share(found.get("memory", "0"), memory, parse_size)
    except ValueError:
        raise ConfigurationError(
            f"reserve {text!r} is not valid: write e.g. 'cores=50% memory=50%' or 'cores=2 memory=8G', or 'none'"
        ) from None
    return Reserve(cores=min(kept_cores, cores), memory=min(kept_memory, memory))


def _share(value: str, whole: int, parse) -> int:
    if value.endswith("%"):
        return math.ceil(whole * float(value[:-1]) / 100)
    return 0 if value == "0" else int(parse(value))


def reserve(env=os.environ) -> Reserve:
    """What ``$COURSE_HUB_RESERVE`` keeps for the students on this machine."""
    return parse_reserve(env.get(RESERVE_VAR, ""), os.cpu_count() or 1, _machine_memory())


def grading_cores(env=os.environ) -> int:
    """The cores the grader may use: the machine's, less the reserve, at least one."""
    return max(1, (os.cpu_count() or 1) - reserve(env).cores)


def total_memory(env=os.environ) -> int:
    """The memory this grader may use, in bytes: the machine's (``/proc/meminfo``,
    else ``os.sysconf``), or the grader's own cgroup limit when that is smaller, less what
    ``$COURSE_HUB_RESERVE`` keeps for the students (never below what one kernel needs)."""
    own = own_cgroup_limit()
    total = _machine_memory()
    total = min(total, own) if own else total
    kept = reserve(env).memory
    return max(total - kept, GRADER_RESERVE + MIN_KERNEL_MEMORY) if kept else total


def _machine_memory() -> int:
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
    return total


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
