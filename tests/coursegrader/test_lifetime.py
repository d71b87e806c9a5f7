"""Nothing outlives the grader: tethered units, one grader per folder, no half-written result taken as done.

Seconds each, with real processes: a unit's process dies with the grader thread that started it,
a grading folder is held by one grader (and free again the moment it dies), and what a dead run
left is cleared before the next one grades. The whole story, a real `make grade` killed mid-run
and run again, is tests/integration/test_no_orphans.py.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from coursegrader import folderlock, store, tether

PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, threading
    from coursegrader import tether

    def start():  # from a worker thread, as the grader's units are
        child = subprocess.Popen(tether.command(os.getpid(), ["sleep", "120"]), start_new_session=True)
        print(child.pid, flush=True)
        child.wait()

    threading.Thread(target=start).start()
    """
)


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _wait_gone(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


def test_a_unit_in_a_session_of_its_own_dies_when_its_grader_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        time.sleep(0.5)  # the tether has asked for its death signal and exec'd sleep
        assert not _gone(child) and os.getpgid(child) != os.getpgid(parent.pid)
        parent.send_signal(signal.SIGKILL)  # as the OOM killer or a job limit would
        parent.wait()
        assert _wait_gone(child), "the unit outlived its grader"
    finally:
        parent.kill()
        if not _gone(child):
            os.kill(child, signal.SIGKILL)


def test_a_unit_whose_grader_is_already_gone_does_not_start():
    orphan = subprocess.run(tether.command(1, ["true"]), capture_output=True, text=True)  # pid 1 is not our parent
    assert orphan.returncode != 0 and "has already ended" in orphan.stderr


def test_a_tethered_module_runs_in_the_same_process():
    ran = subprocess.run(
        tether.command(os.getpid(), [sys.executable, "-m", "json.tool", "--compact"]),
        input='{"a": 1}',
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0 and ran.stdout.strip() == '{"a":1}'


HOLDER = textwrap.dedent(
    """
    import sys, time
    from coursegrader.folderlock import holding
    with holding(sys.argv[1]):
        print("holding", flush=True)
        time.sleep(120)
    """
)


def test_a_folder_is_graded_by_one_grader_at_a_time_and_free_when_it_dies(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        busy = pytest.raises(folderlock.FolderBusy, match=rf"another grader \(pid {holder.pid}\)")
        with busy, folderlock.holding(tmp_path):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with folderlock.holding(tmp_path):  # nothing to wait for: the dead holder's lock went with it
            pass
    finally:
        holder.kill()


def test_grade_holds_its_folder_for_the_whole_run(tmp_path):
    from coursegrader.grade import grade

    with folderlock.holding(tmp_path), pytest.raises(folderlock.FolderBusy):
        grade(workdir=tmp_path, profile="smoke")


def test_what_a_dead_run_left_half_done_is_cleared_before_grading(tmp_path):
    (tmp_path / ".work" / "alice-sentiment-x1").mkdir(parents=True)
    results = store.root(tmp_path)
    (results / ".saving-abc" / "files").mkdir(parents=True)
    (results / ".replaced-abc").mkdir()
    (results / "0123abcd").mkdir()
    (results / "0123abcd" / "outcome.json").write_text("{}")
    with folderlock.holding(tmp_path):
        assert not (tmp_path / ".work").exists()
        assert sorted(p.name for p in results.iterdir()) == ["0123abcd"], "a complete result stays"


def test_a_stored_result_is_replaced_whole(tmp_path):
    graded = tmp_path / "graded"
    graded.mkdir()
    for version in ("first", "second"):
        (graded / "nb.ipynb").write_text(version)
        outcome = store.Outcome("k1", "sentiment", "smoke", {"v": version}, {}, {}, 1.0)
        store.save(tmp_path / "w", outcome, graded)
    assert store.load(tmp_path / "w", "k1").record == {"v": "second"}
    assert (store.files(tmp_path / "w", "k1") / "nb.ipynb").read_text() == "second"
    assert [p.name for p in store.root(tmp_path / "w").iterdir()] == ["k1"], "nothing left under a hidden name"
