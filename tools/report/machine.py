"""Describe the machine and the code the report was made with (its "About" facts)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from coursekit import ROOT, profiles


def git_commit(root: Path = ROOT) -> str | None:
    """The short commit of ``root``'s checkout, noting uncommitted changes; None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict[str, str]:
    """CPUs, GPU, system, Python and TensorFlow versions, the date and the git commit, as text."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        tf_version = metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        tf_version = "not installed"
    return {
        "CPUs": f"{os.cpu_count()}" + (f" × {cpu}" if cpu else ""),
        "GPU": "NVIDIA driver present" if profiles.nvidia_driver_present() else "none",
        "System": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
        "TensorFlow": tf_version,
        "Date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "Git commit": git_commit() or "not available",
    }
