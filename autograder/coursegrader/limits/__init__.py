"""What a graded kernel may use besides time and memory: the limits table, in one place.

Every kernel gets four more limits, each enforced outside it (see :mod:`.watch` for how):

* ``disk``: bytes it may write, its working folder, its private ``/tmp`` and ``/dev/shm``
  and its socket folder together (a submission must not fill the grading disk);
* ``files``: files and folders it may create there (nor exhaust its inodes, nor make the
  grader's measuring walk slow);
* ``processes``: processes and threads alive at once (a fork or thread bomb must not take
  the machine's process table);
* ``output``: bytes of output it may send the grader (what it prints and displays, and
  anything else on its channels): a huge print must not take the grader's memory.

The time limits are the profile's (``coursekit.profiles``), the memory cap is the machine's
share (``sandbox.cgroups.default_memory_limit``). Going over a limit stops the kernel where it
was, and the status names the limit and the cell (``wrote more than 512 MiB in cell 14``).

``make grade LIMITS=off`` grades without these four (the benchmark's control);
``LIMITS="disk=2G processes=2048"`` changes some. The limits a run uses are part of its
settings, and so of the key of every result stored (:mod:`coursegrader.keys`).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, replace

from coursekit import profiles

from ..sandbox.cgroups import parse_size

MiB, GiB = 2**20, 2**30


@dataclass(frozen=True)
class Limits:
    """Per kernel; ``None`` (or 0) means no limit of that kind."""

    disk: int | None  # bytes written: working folder, /tmp, /dev/shm and socket folder together
    files: int | None  # files and folders created there
    processes: int | None  # processes and threads alive at once (what cgroup pids.max counts)
    output: int | None  # bytes the kernel sends the grader over its channels, per notebook

    def as_setting(self) -> dict:
        return asdict(self)


# Sizes that fit each profile with room to spare. Disk: at course size (full) an NMT checkpoint
# with its Adam slots is about 270 MiB and TensorFlow writes the next before deleting the last;
# a GPU's CUDA JIT cache lives under HOME=/tmp (up to 1 GiB). Processes: TensorFlow starts about
# two threads per core it sees. Output: the translation labs' evidence grows with the model's
# width (encoder outputs and decoder logits, a few MiB at course size); the rest is tens of KiB.
DEFAULTS = {
    "full": Limits(disk=4 * GiB, files=10_000, processes=1024, output=32 * MiB),
    "cpu": Limits(disk=1 * GiB, files=10_000, processes=1024, output=8 * MiB),
    "smoke": Limits(disk=512 * MiB, files=10_000, processes=1024, output=8 * MiB),
}
OFF = Limits(disk=None, files=None, processes=None, output=None)
KINDS = ("disk", "files", "processes", "output")
ENV_VAR = "LIMITS"


def defaults(profile_name: str | None = None) -> Limits:
    """The table's limits of a profile; ``None``/``auto`` resolved as the Validate button does
    (``full`` with an NVIDIA driver, else ``cpu``), without importing TensorFlow."""
    name = (profile_name or os.environ.get(profiles.ENV_VAR) or "auto").strip().lower()
    if name == "auto":
        name = "full" if profiles.nvidia_driver_present() else "cpu"
    return DEFAULTS.get(name, DEFAULTS["cpu"])


def parse(text: str | None, base: Limits) -> Limits:
    """``base`` changed by ``text``: ``off``, or ``kind=value`` pairs (``disk=2G processes=2048``;
    sizes as for MEMORY, ``0`` or ``none`` for no limit of that kind). ValueError says what is wrong."""
    text = (text or "").strip()
    if not text:
        return base
    if text.lower() == "off":
        return OFF
    changes = {}
    for item in re.split(r"[\s,]+", text):
        kind, sep, value = item.partition("=")
        kind, value = kind.strip().lower(), value.strip().lower()
        if not sep or kind not in KINDS:
            raise ValueError(
                f"{ENV_VAR}: {item!r} is not valid; use 'off' or kind=value with kind one of {', '.join(KINDS)} "
                f"(e.g. 'disk=2G processes=2048')"
            )
        if value in ("0", "none", "off"):
            changes[kind] = None
        elif kind in ("files", "processes"):
            if not value.isdigit():
                raise ValueError(f"{ENV_VAR}: {kind} must be a whole number, not {value!r}")
            changes[kind] = int(value)
        else:
            changes[kind] = parse_size(value)
    return replace(base, **changes)


def from_setting(setting: dict | None) -> Limits:
    """The limits a profile's settings carry (see :func:`with_limits`); none when it has none."""
    return Limits(**setting) if setting else OFF


def with_limits(profile, text: str | None = None):
    """``profile`` (a ``coursekit.profiles.Profile``) with its limits in its settings, so that every
    result is keyed by them and every unit gets them."""
    chosen = parse(text, defaults(profile.name))
    return profiles.Profile(
        lab=profile.lab,
        name=profile.name,
        reason=profile.reason,
        settings={**profile.settings, "limits": chosen.as_setting()},
    )


def human(size: int) -> str:
    """``512 MiB``, ``1 GiB``, ``1.5 GiB``: a size as a status says it."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (2**10, "KiB")):
        if size >= unit:
            value = size / unit
            return f"{value:g} {name}" if value == int(value) else f"{value:.1f} {name}"
    return f"{size} bytes"


def describe(limits: Limits) -> str:
    """One line for the run's announcement."""
    if limits == OFF:
        return f"no disk, file, process or output limit ({ENV_VAR}=off)"
    parts = [
        f"{human(limits.disk)} of disk" if limits.disk else "no disk limit",
        f"{limits.files} files" if limits.files else "no file limit",
        f"{limits.processes} processes" if limits.processes else "no process limit",
        f"{human(limits.output)} of output" if limits.output else "no output limit",
    ]
    return ", ".join(parts)


def fallbacks(given: Limits) -> list[str]:
    """What the sandbox falls back on here to hold ``given``, in words, to be said once per run."""
    from ..sandbox import bwrap, pids

    notes = []
    if given.processes:
        works, why = pids.process_cap_support()
        if not works:
            notes.append(why)
    tool = bwrap.bwrap_path()
    if given.disk and tool and not bwrap.supports_tmpfs_size(tool):
        notes.append(
            f"Note: {tool} cannot size a tmpfs (bubblewrap 0.5 or later can): a kernel's /tmp and /dev/shm are "
            "bounded by its memory cap, and the disk limit by the grader's measure only."
        )
    return notes
