"""A course folder the staff group shares (setgid) stays writable by every member: what the grader
and SQLite make there with a fixed, closed mode is opened to the group; elsewhere nothing changes.
(Real users sharing one: tests/hub/test_hub.py, a TA grading after the instructor.)"""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile

import pytest

from coursegrader import backup, groupshare


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # an ssh session's usual umask: group write would be lost
    yield
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def shared_root(tmp_path):
    tmp_path.chmod(0o2770)
    return tmp_path


def test_the_setgid_bit_says_the_folder_is_shared(tmp_path):
    assert not groupshare.is_group_shared(tmp_path)
    assert groupshare.is_group_shared(shared_root(tmp_path))


def test_the_gradebook_is_group_writable_from_its_first_write_whatever_the_umask(tmp_path, umask_022):
    root = shared_root(tmp_path)
    db = root / "gradebook.db"
    groupshare.create_gradebook(db, root=root)
    with sqlite3.connect(db) as con:  # SQLite takes the empty file as a new database, keeps its mode
        con.execute("create table grade (id text, manual_score real)")
    assert mode(db) == 0o660
    copy = backup.backup_gradebook(db)
    assert mode(copy) == 0o660, "a backup is as open as the gradebook it copies"


def test_nothing_changes_in_a_folder_of_ones_own(tmp_path, umask_022):
    db = tmp_path / "gradebook.db"
    groupshare.create_gradebook(db, root=tmp_path)
    assert not db.exists(), "SQLite makes it as usual"
    folder = tempfile.mkdtemp(dir=tmp_path)
    groupshare.open_to_group(folder, root=tmp_path)
    assert mode(folder) == 0o700


def test_a_folder_made_by_mkdtemp_is_opened_to_the_group(tmp_path):
    root = shared_root(tmp_path)
    folder = tempfile.mkdtemp(dir=root)
    groupshare.open_to_group(folder, root=root)
    assert mode(folder) == 0o2770


def test_the_grader_writes_with_the_staffs_umask_in_a_shared_folder(tmp_path):
    old = os.umask(0o022)
    try:
        assert groupshare.share_with_group(shared_root(tmp_path))
        assert os.umask(0o022) == groupshare.SHARED_UMASK
    finally:
        os.umask(old)
