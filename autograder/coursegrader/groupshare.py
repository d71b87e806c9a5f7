"""A course folder shared by the course staff's unix group (an instructor and TAs on one hub).

On a JupyterHub every person runs as their own OS user. For a TA to grade by hand in formgrader
and run ``make grade`` in the same course folder as the instructor, the folder belongs to a
staff group with the setgid bit on its directories (new files get that group, docs/hub.md) and
everything written there must stay writable by the group: the gradebook, ``submitted/``,
``grading-state.json``, the stored results. The setgid bit on the course folder is the signal:
where it is set, nbgrader writes group-writable files (``CourseDirectory.groupshared``, set by
autograder/nbgrader_config.py) and the grader and nbgrader run with a umask that keeps the group's
write permission (:data:`SHARED_UMASK`). A umask
cannot help where a file's mode is fixed by its maker: SQLite creates databases with mode 644,
``tempfile`` its folders with 700; :func:`open_to_group` opens those, and :func:`create_gradebook`
makes the gradebook group-writable before SQLite first writes it. On a laptop nothing changes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .course import ROOT

#: group: read and write. Others: read, as with the usual umask 022, because nbgrader copies some
#: files out of the course folder keeping their mode (the feedback pages students fetch from the
#: exchange); inside it, the course folder's own mode (2770) keeps everyone but the staff out.
SHARED_UMASK = 0o002
SHARED_FILE, SHARED_DIR = 0o660, 0o2770


def is_group_shared(root: Path = ROOT) -> bool:
    """Whether the course folder is shared by a group: its setgid bit is set."""
    try:
        return bool(os.stat(root).st_mode & stat.S_ISGID)
    except OSError:
        return False


def share_with_group(root: Path = ROOT) -> bool:
    """In a group-shared course folder, make this process (and what it starts) write files the
    group can change; return whether the folder is shared."""
    shared = is_group_shared(root)
    if shared:
        os.umask(SHARED_UMASK)
    return shared


def open_to_group(path: Path, root: Path = ROOT) -> None:
    """In a group-shared course folder, let the group read and write ``path`` (made by this user
    with a fixed, closed mode: ``tempfile.mkdtemp``, ``mkstemp``)."""
    if is_group_shared(root):
        os.chmod(path, SHARED_DIR if Path(path).is_dir() else SHARED_FILE)


def create_gradebook(db: Path, root: Path = ROOT) -> None:
    """In a group-shared course folder, create the gradebook ``db`` empty and group-writable if it
    does not exist yet: SQLite would create it with mode 644, and then only its maker could save
    a grade (an empty file is a new database to SQLite, which keeps its mode)."""
    if not is_group_shared(root) or Path(db).exists():
        return
    try:
        fd = os.open(db, os.O_CREAT | os.O_EXCL | os.O_WRONLY, SHARED_FILE)
    except OSError:  # made meanwhile by another process, or a folder we cannot write: SQLite says so
        return
    try:
        os.fchmod(fd, SHARED_FILE)  # whatever this process's umask
    finally:
        os.close(fd)
