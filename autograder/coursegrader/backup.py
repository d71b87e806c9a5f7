"""Copies of the gradebook, made before anything rewrites it.

The gradebook (``autograder/gradebook.db``) is the one result ``make grade`` cannot make again:
it holds the points TAs gave by hand in formgrader, and nbgrader keeps them nowhere else. So
``make grade``, ``make collect``, ``make publish`` and ``make clean-class`` first copy it to
``autograder/backups/gradebook-<date>-<time>.db`` and keep the newest :data:`KEEP` copies.

* The copy is taken with SQLite's online backup API, not by copying the file: formgrader may be
  writing a TA's points at that very moment, and a file copy could catch half a transaction.
* A copy identical to the newest one is not made again, so that a day of ``make grade`` runs
  with nothing new to keep does not push the older, different copies out.

Standard library only: ``make clean-class`` runs it without the course's environment
(``PYTHONPATH=autograder python3 -m coursegrader.backup``).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import sqlite3
import stat
import sys
import tempfile
from datetime import datetime
from pathlib import Path

#: How many copies are kept (the oldest go first).
KEEP = 10
PREFIX = "gradebook-"


def backup_gradebook(db: Path, folder: Path | None = None, keep: int = KEEP) -> Path | None:
    """Copy the gradebook ``db`` into ``folder`` (default: ``backups/`` next to it); return the
    copy, or None when there is no gradebook or the newest copy already holds the same."""
    db = Path(db)
    if not db.is_file():
        return None
    folder = Path(folder) if folder is not None else db.parent / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".db", dir=folder)
    os.close(fd)
    # as open as the gradebook it copies (mkstemp's 600 would shut the other TAs out of it)
    os.chmod(tmp, stat.S_IMODE(db.stat().st_mode))
    try:
        # mode=ro: a backup never creates or changes the gradebook it reads
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        existing = copies(folder)
        if existing and filecmp.cmp(existing[-1], tmp, shallow=False):
            return None
        path = _free_name(folder)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    for old in copies(folder)[: -max(1, keep)]:
        old.unlink(missing_ok=True)
    return path


def copies(folder: Path) -> list[Path]:
    """The copies in ``folder``, oldest first (their names sort by time)."""
    return sorted(Path(folder).glob(f"{PREFIX}*.db"))


def _free_name(folder: Path) -> Path:
    # microseconds: two copies in one second still sort in the order they were made
    return folder / f"{PREFIX}{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.db"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursegrader.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path, help="the gradebook, e.g. autograder/gradebook.db")
    parser.add_argument("--keep", type=int, default=KEEP, help=f"copies kept (default {KEEP})")
    args = parser.parse_args(argv)
    try:
        path = backup_gradebook(args.db, keep=args.keep)
    except sqlite3.Error as err:
        print(f"error: cannot back up {args.db}: {err}", file=sys.stderr)
        return 2
    if path is not None:
        print(f"gradebook backed up to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
