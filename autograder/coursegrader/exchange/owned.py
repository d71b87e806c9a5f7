"""Copy a submission folder out of the exchange, taking only what its owner could hand in.

``collect`` runs with the instructor's rights, so whatever it reads it can read as the
instructor; a student's folder must therefore decide nothing about *what* is read. The
threats, and the step that stops each:

* a symbolic link (to the solutions, the gradebook, another student's work, a device):
  never followed; the folder is refused. Every file and folder is opened relative to its
  parent's descriptor with ``O_NOFOLLOW``, and checked to be the one that was inspected, so
  a link swapped in between the check and the read is refused too;
* a hard link to a file someone else owns, or any file or folder someone else owns: only
  the owner given (the student; the collecting user on a one-user machine) is accepted; a
  hard link of any kind (no submit makes one) is refused;
* a FIFO, a socket or a device (a FIFO blocks a reader forever, a device is endless):
  only regular files and folders are accepted, and files are opened non-blocking;
* a mount point (a FUSE file system the student serves): refused, the whole folder must be
  on the exchange's file system;
* a flood (a huge file, thousands of files, a deep tree): a file over the size limit is left
  out and reported; too many entries, too many bytes in all or too deep a tree refuse the
  folder, and a file that grows while it is read stops at the limit.

What is taken is written into a fresh folder of the collector's (``O_EXCL``): nothing of the
student's can decide where it lands.
"""

from __future__ import annotations

import fnmatch
import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
CHUNK = 1 << 20
# The copies' modes are the collector's umask's to decide, as for any file it makes: 755 / 644 with
# the usual 022; group-writable with the 002 of a course folder the staff group shares (docs/hub.md).
COPY_DIR, COPY_FILE = 0o777, 0o666
MB = 1_000_000


class Refused(Exception):
    """The folder is not taken; the message says why, in words a TA can act on."""


@dataclass(frozen=True)
class Limits:
    """What one submission folder may hold."""

    files: int = 200  # files and folders, ignored ones aside
    file_bytes: int = 50 * MB  # a larger file is left out (the rest is taken)
    total_bytes: int = 100 * MB  # all files together
    depth: int = 8  # folders inside folders
    ignore: tuple[str, ...] = ()  # name patterns never copied (nbgrader's CourseDirectory.ignore)
    include: tuple[str, ...] = ("*",)  # name patterns of the files copied (CourseDirectory.include)


@dataclass
class Taken:
    """What was copied, and what was left out and why."""

    entries: int = 0
    bytes: int = 0
    left_out: list[str] = field(default_factory=list)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


@dataclass(frozen=True)
class Owner:
    """Whose files a submission may hold: ``uids``, said as ``name`` in messages."""

    name: str
    uids: frozenset[int]


def take(parent_fd: int, name: str, dest: Path, owner: Owner, limits: Limits) -> Taken:
    """Copy the folder ``name`` (in the folder open as ``parent_fd``) into the new folder ``dest``.

    Raises :class:`Refused` when anything in it is not a regular file or folder of ``owner`` on
    the same file system, or it breaks ``limits``; ``dest`` may then hold a part.
    """
    st = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        raise Refused(f"the submission is a symbolic link (to {_target(parent_fd, name)}), not a folder")
    if not stat.S_ISDIR(st.st_mode):
        raise Refused(f"the submission is a {_kind(st.st_mode)}, not a folder")
    _check_owner(st, owner, "the submission folder")
    taken = Taken()
    fd = _open(parent_fd, name, st, "the submission folder")
    try:
        os.mkdir(dest, COPY_DIR)
        _copy_folder(fd, "", dest, st.st_dev, owner, limits, taken, depth=0)
    finally:
        os.close(fd)
    return taken


def _copy_folder(fd, rel, dest, device, owner, limits, taken, depth) -> None:
    for name in sorted(os.listdir(fd)):
        path = rel + name
        if any(fnmatch.fnmatch(name, pattern) for pattern in limits.ignore):
            continue  # as nbgrader's own copy: checkpoints and the like are never collected
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            raise Refused(f"{path} is a symbolic link (to {_target(fd, name)}): collect never follows a link")
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            raise Refused(f"{path} is a {_kind(st.st_mode)}: only files and folders are collected")
        _check_owner(st, owner, path)
        if st.st_dev != device:
            raise Refused(f"{path} is on another file system (a mount point): only the exchange's own is read")
        taken.entries += 1
        if taken.entries > limits.files:
            raise Refused(f"it holds more than {limits.files:,} files and folders (the limit)")
        if stat.S_ISDIR(st.st_mode):
            if depth + 1 > limits.depth:
                raise Refused(f"{path} is more than {limits.depth} folders deep (the limit)")
            sub = _open(fd, name, st, path)
            try:
                os.mkdir(dest / name, COPY_DIR)
                _copy_folder(sub, path + "/", dest / name, device, owner, limits, taken, depth + 1)
            finally:
                os.close(sub)
        elif any(fnmatch.fnmatch(name, pattern) for pattern in limits.include):
            _copy_file(fd, name, st, dest / name, path, limits, taken)


def _copy_file(fd, name, st, dest: Path, path: str, limits: Limits, taken: Taken) -> None:
    if st.st_nlink > 1:  # another name of the same file: possibly someone else's, never made by submit
        raise Refused(f"{path} is a hard link (the file has {st.st_nlink} names): only plain copies are collected")
    if st.st_size > limits.file_bytes:
        taken.left_out.append(f"{path} ({st.st_size / MB:,.1f} MB, over the {limits.file_bytes / MB:,.0f} MB limit)")
        return
    src = _open(fd, name, st, path)
    try:
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, COPY_FILE)
        try:
            copied = _copy_bytes(src, out, limits.file_bytes + 1)
        finally:
            os.close(out)
    finally:
        os.close(src)
    if copied > limits.file_bytes:  # it grew while being read
        os.unlink(dest)
        taken.left_out.append(f"{path} (grew over the {limits.file_bytes / MB:,.0f} MB limit while it was collected)")
        return
    taken.bytes += copied
    if taken.bytes > limits.total_bytes:
        raise Refused(f"its files hold more than {limits.total_bytes / MB:,.0f} MB in all (the limit)")


def _copy_bytes(src: int, out: int, most: int) -> int:
    copied = 0
    while copied < most:
        block = os.read(src, min(CHUNK, most - copied))
        if not block:
            break
        os.write(out, block)
        copied += len(block)
    return copied


def _open(parent_fd: int, name: str, st: os.stat_result, what: str) -> int:
    """Open ``name`` without following a link and check it is still what ``st`` described."""
    directory = os.O_DIRECTORY if stat.S_ISDIR(st.st_mode) else 0
    try:
        fd = os.open(name, OPEN_FLAGS | directory, dir_fd=parent_fd)
    except OSError as err:
        raise Refused(
            f"{what} could not be opened ({err.strerror}); it may have changed while it was collected"
        ) from None
    now = os.fstat(fd)
    if (now.st_dev, now.st_ino, stat.S_IFMT(now.st_mode)) != (st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)):
        os.close(fd)
        raise Refused(f"{what} changed while it was collected")
    return fd


def _check_owner(st: os.stat_result, owner: Owner, what: str) -> None:
    if st.st_uid not in owner.uids:
        raise Refused(f"{what} belongs to {user_name(st.st_uid)}, not to {owner.name}")


def _target(fd: int, name: str) -> str:
    try:
        return os.readlink(name, dir_fd=fd)
    except OSError:
        return "somewhere"


KINDS = {
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


def _kind(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "special file")
