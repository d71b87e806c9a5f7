"""What a sandboxed kernel is using, measured from outside it: disk written, files made, tasks alive.

Nothing here asks the kernel: a folder is walked by the grader, a tmpfs inside the sandbox is
read through ``/proc/<pid>/root`` (its usage in one ``statvfs``), the sandbox's processes through
its own procfs seen the same way. Each walk stops as soon as it has seen enough to know a limit
was passed, so a kernel cannot make the grader's measuring slow by making many files.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass
class Written:
    """What a kernel has in the places it can write."""

    bytes: int = 0  # allocated (blocks, so a sparse file counts what it really takes)
    entries: int = 0  # files, folders, links...


def _walk(folder: str, found: Written, max_entries: int) -> None:
    """Add what ``folder`` holds to ``found`` (never following links), until ``max_entries``."""
    stack = [folder]
    while stack and found.entries <= max_entries:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    found.entries += 1
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    found.bytes += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    if found.entries > max_entries:
                        return
        except OSError:
            continue  # deleted meanwhile, or unreadable: nothing of it to count


def written(folders: list[str], tmpfs: list[str], max_entries: int = 10**9) -> Written:
    """What ``folders`` (walked) and the ``tmpfs`` mounts (one ``statvfs`` each) hold."""
    found = Written()
    for path in tmpfs:
        try:
            fs = os.statvfs(path)
        except OSError:
            continue  # the kernel has just ended
        found.bytes += (fs.f_blocks - fs.f_bfree) * fs.f_frsize
        found.entries += max(0, fs.f_files - fs.f_ffree - 1)  # its root folder is not the kernel's
    for folder in folders:
        _walk(folder, found, max_entries)
    return found


def _mount_ns(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found


def sandbox_pid(outer: int, depth: int = 4) -> int | None:
    """A descendant of ``outer`` (bubblewrap) in another mount namespace than this process: the
    sandbox's init, through which the sandbox's own mounts (``/proc/<pid>/root/tmp``) are seen."""
    ours = _mount_ns("self")
    level = [outer]
    for _ in range(depth):
        level = [child for pid in level for child in _children(pid)]
        for pid in level:
            ns = _mount_ns(pid)
            if ns is not None and ns != ours:
                return pid
    return None


def tasks_inside(pid: int, stop_at: int = 10**9) -> int:
    """Processes and threads in the PID namespace of sandboxed ``pid`` (read from the sandbox's own
    procfs, so only its processes are listed), counting up to ``stop_at``."""
    proc = f"/proc/{pid}/root/proc"
    count = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(proc):
            if name.isdigit():
                with contextlib.suppress(OSError):
                    count += len(os.listdir(f"{proc}/{name}/task"))
                if count >= stop_at:
                    break
    return count


def own_resident_bytes() -> int:
    """This process's resident memory (0 where /proc cannot tell)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
