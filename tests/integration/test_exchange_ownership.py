"""The exchange knows who hands in: `nbgrader collect` with the course configuration refuses every
folder a student could craft to take what is not theirs, and says why; nobody else loses anything.

Two throwaway OS users stand in for the students: ``honest`` hands in her lab; ``mallory`` makes
folders in inbound/ by hand, as a student can (inbound/ is writable by everyone), each one of the
attacks below, newer than the one before, and one plain submission of her own that is older than
all of them. As root the test makes files owned by those users; it skips when not root or without
useradd. One real `nbgrader collect` (seconds) covers every attack; the CLI proves the course
configuration puts OwnedCollect behind `make collect` and formgrader's Collect button.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursegrader.course import ROOT

COURSE_ID, ASSIGNMENT = "seq2seq-attention", "sentiment"
SECRET = "THE-REFERENCE-SOLUTION-ONLY-THE-INSTRUCTOR-MAY-READ"
NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
MARK = "seq2seq-attention exchange test"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("useradd"), reason="needs root and useradd to make files of other users"
)


@pytest.fixture(scope="module")
def students():
    """Two OS users with names nobody else uses, removed afterwards: {role: (name, uid, gid)}."""
    made = {}
    try:
        for role in ("honest", "mallory"):
            name = f"xo{secrets.token_hex(4)}{role[0]}"
            subprocess.run(["useradd", "--no-create-home", "--comment", MARK, name], check=True, capture_output=True)
            entry = pwd.getpwnam(name)
            made[role] = (name, entry.pw_uid, entry.pw_gid)
        yield made
    finally:
        for name, _, _ in made.values():
            subprocess.run(["userdel", name], check=False, capture_output=True)


def stamp(minute: int) -> str:
    return f"2030-01-01 10:{minute:02d}:00.000000 UTC"


def chown_tree(path: Path, owner) -> None:
    _, uid, gid = owner
    for item in [path, *path.rglob("*")]:
        os.lchown(item, uid, gid)


def submission(inbound: Path, owner, claimed: str, minute: int, files=None) -> Path:
    """A folder in inbound/ named as nbgrader submit names it, owned by ``owner``."""
    folder = inbound / f"{claimed}+{ASSIGNMENT}+{stamp(minute)}+{secrets.token_hex(6)}"
    folder.mkdir()
    (folder / f"{ASSIGNMENT}.ipynb").write_text(
        NOTEBOOK.replace("[]", f'[{{"cell_type": "raw", "metadata": {{}}, "source": "{claimed} {minute}"}}]')
    )
    (folder / "timestamp.txt").write_text(stamp(minute))
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content)
    chown_tree(folder, owner)
    return folder


@pytest.fixture(scope="module")
def collected(students, tmp_path_factory):
    """Every attack in one inbound/, one `nbgrader collect`: (submitted/, its log, the folders)."""
    tmp = tmp_path_factory.mktemp("exchange-ownership")
    honest, mallory = students["honest"], students["mallory"]
    inbound = tmp / "exchange" / COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    os.chmod(inbound, 0o2733)  # as nbgrader release_assignment makes it
    private = tmp / "instructor"  # what only the instructor (root here) may read
    private.mkdir(mode=0o700)
    (private / f"{ASSIGNMENT}.ipynb").write_text(SECRET)
    (private / "solution.txt").write_text(SECRET)
    outside = tmp / "mallory-home"
    outside.mkdir()
    (outside / "mine.txt").write_text("mallory's own file, hard-linked")
    chown_tree(outside, mallory)
    m = mallory[0]
    # Mallory's folders are tried newest first: every attack (minutes 10 to 17) is refused in turn,
    # and her latest folder that passes (minute 5; its big file left out) is collected.
    folders = {
        "honest": submission(inbound, honest, honest[0], 1),
        "forged-name": submission(inbound, mallory, honest[0], 30),  # later than hers: nbgrader took it
        "mallory-older": submission(inbound, mallory, m, 2),
        "oversized": submission(inbound, mallory, m, 5, {"weights.bin": b"\0" * 3_000_000}),
        "too-many-files": submission(inbound, mallory, m, 10, {f"f{i}.txt": b"x" for i in range(30)}),
        "hard-link-own": submission(inbound, mallory, m, 11),
        "hard-link-foreign": submission(inbound, mallory, m, 12),
        "fifo": submission(inbound, mallory, m, 13),
        "symlinked-folder": inbound / f"{m}+{ASSIGNMENT}+{stamp(14)}+{secrets.token_hex(6)}",
        "symlinked-notebook": submission(inbound, mallory, m, 15),
        "foreign-file": submission(inbound, mallory, m, 16),
        "unreadable-stamp": inbound / f"{m}+{ASSIGNMENT}+yesterday+{secrets.token_hex(6)}",
        "not-a-student-id": inbound / f"..+{ASSIGNMENT}+{stamp(17)}+{secrets.token_hex(6)}",
        "no-such-student": submission(inbound, mallory, "nobody-xq", 18),
    }
    os.link(outside / "mine.txt", folders["hard-link-own"] / "notes.txt")
    os.link(private / "solution.txt", folders["hard-link-foreign"] / "solution.txt")
    os.mkfifo(folders["fifo"] / "answers.txt")
    os.lchown(folders["fifo"] / "answers.txt", mallory[1], mallory[2])
    folders["symlinked-folder"].symlink_to(private)
    os.lchown(folders["symlinked-folder"], mallory[1], mallory[2])
    notebook = folders["symlinked-notebook"] / f"{ASSIGNMENT}.ipynb"
    notebook.unlink()
    notebook.symlink_to(private / f"{ASSIGNMENT}.ipynb")
    os.lchown(notebook, mallory[1], mallory[2])
    (folders["foreign-file"] / "extra.txt").write_text("a file of someone else's in her folder")  # root's
    for name in ("unreadable-stamp", "not-a-student-id"):
        folders[name].mkdir()
        chown_tree(folders[name], mallory)
    log = run_collect(tmp, max_files=20, max_file_mb=1)
    return tmp / "course" / "submitted", log, folders, students


def run_collect(tmp: Path, **limits) -> str:
    config = tmp / "config"
    config.mkdir(exist_ok=True)
    settings = "".join(f"c.OwnedCollect.{k} = {v!r}\n" for k, v in limits.items())
    (config / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(ROOT / 'autograder' / 'nbgrader_config.py')!r})\n"
        f"c.Exchange.root = {str(tmp / 'exchange')!r}\n"
        f"c.CourseDirectory.submitted_directory = {str(tmp / 'course' / 'submitted')!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(tmp / 'gradebook.db')!r}\n" + settings
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_PATH": str(config),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env.pop("COURSE_EXCHANGE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "collect", ASSIGNMENT, "--update"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def refusal(log: str, folder: Path) -> str:
    """The line of the log that refuses ``folder`` ("" if there is none)."""
    return next((line for line in log.splitlines() if f"Refused inbound/{folder.name}:" in line), "")


def test_the_honest_student_keeps_her_submission_despite_a_later_one_in_her_name(collected):
    submitted, log, folders, students = collected
    honest, mallory = students["honest"][0], students["mallory"][0]
    notebook = submitted / honest / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert f"{honest} 1" in notebook.read_text(), "her own submission (minute 1), not the forged one"
    line = refusal(log, folders["forged-name"])
    assert f"the submission folder belongs to {mallory}, not to {honest}" in line, log


@pytest.mark.parametrize(
    "attack, reason",
    [
        ("symlinked-notebook", f"{ASSIGNMENT}.ipynb is a symbolic link (to "),
        ("symlinked-folder", "the submission is a symbolic link (to "),
        ("fifo", "answers.txt is a FIFO (named pipe): only files and folders are collected"),
        ("hard-link-foreign", "solution.txt belongs to root, not to"),
        ("hard-link-own", "notes.txt is a hard link (the file has 2 names)"),
        ("foreign-file", "extra.txt belongs to root, not to"),
        ("too-many-files", "it holds more than 20 files and folders (the limit)"),
        ("unreadable-stamp", "its time stamp 'yesterday' cannot be read"),
        ("not-a-student-id", "'..' cannot be a student id"),
        ("no-such-student", "belongs to {mallory}, not to the collecting user (nobody-xq is no account here)"),
    ],
)
def test_every_crafted_folder_is_refused_with_its_reason(collected, attack, reason):
    _, log, folders, students = collected
    line = refusal(log, folders[attack])
    reason = reason.format(mallory=students["mallory"][0])
    assert reason in line and "nothing of it was collected" in line, f"{attack}: {line or log}"


def test_nothing_only_the_instructor_may_read_is_collected(collected):
    submitted, _, _, _ = collected
    for path in submitted.rglob("*"):
        assert not path.is_symlink(), path
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    assert not [p for p in submitted.rglob(".*") if p.name.startswith((".collecting-", ".replaced-"))]


def test_the_attacker_gets_her_latest_folder_that_passes_with_its_big_file_left_out(collected):
    submitted, log, _, students = collected
    mallory = students["mallory"][0]
    mine = submitted / mallory / ASSIGNMENT
    assert f"{mallory} 5" in (mine / f"{ASSIGNMENT}.ipynb").read_text()
    assert not (mine / "weights.bin").exists()
    assert "weights.bin (3.0 MB, over the 1 MB limit)" in log
    assert f"{mallory}: collected their earlier submission" in log
    assert "submission folder(s) of 'sentiment' were refused" in log, "a summary the TA cannot miss"


def test_a_student_with_no_folder_that_passes_gets_nothing_and_the_ta_is_told_what_to_do(collected):
    submitted, log, _, _ = collected
    assert not (submitted / "nobody-xq").exists()
    assert "nobody-xq: none of their 1 submission(s) of 'sentiment' could be collected" in log
    assert "nothing of theirs is graded. Ask them to submit again" in log


def test_collecting_again_keeps_what_was_collected_when_only_refused_folders_are_newer(collected):
    submitted, _, _, students = collected
    again = run_collect(submitted.parent.parent, max_files=20, max_file_mb=1)
    for role, minute in (("honest", 1), ("mallory", 5)):
        name = students[role][0]
        assert f"{name} {minute}" in (submitted / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert (
        f"{students['mallory'][0]}: their newer submission(s) were refused; the copy collected before is kept" in again
    )


def test_submit_refuses_to_hand_in_as_another_user(students, tmp_path):
    """With the students' hub configuration, `nbgrader submit --student <a classmate>` stops at once
    (collect would refuse the folder anyway); a name that is no account (a TA's laptop) is allowed."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory

    from coursekit.handin import OwnNameSubmit

    (tmp_path / ASSIGNMENT).mkdir()
    (tmp_path / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(NOTEBOOK)
    exchange = tmp_path / "exchange"
    (exchange / COURSE_ID / "inbound").mkdir(parents=True)
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(ROOT / "autograder" / "hub"), "HOME": str(tmp_path)}
    env.update(COURSE_EXCHANGE=str(exchange), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    classmate = students["honest"][0]
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "submit", ASSIGNMENT, f"--student={classmate}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and f"can hand in only as yourself, not as {classmate}" in proc.stderr, proc.stderr
    assert not os.listdir(exchange / COURSE_ID / "inbound")
    laptop = CourseDirectory(course_id=COURSE_ID, assignment_id=ASSIGNMENT, student_id="no-such-account-xq")
    app = OwnNameSubmit(coursedir=laptop, authenticator=Authenticator(), root=str(exchange))
    app.set_timestamp()
    app.init_dest()  # no error
    assert app.assignment_filename.startswith(f"no-such-account-xq+{ASSIGNMENT}+")


def test_nbgraders_own_collect_falls_for_both_attacks(students, tmp_path, monkeypatch):
    """Why OwnedCollect exists: nbgrader 0.9.6's collect, on a forged folder and a symlinked
    notebook, replaces the honest student's work and copies what only the instructor may read."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.collect import ExchangeCollect

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # the gradebook's alembic
    honest, mallory = students["honest"], students["mallory"]
    inbound = tmp_path / "exchange" / COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    private = tmp_path / "instructor"
    private.mkdir(mode=0o700)
    (private / "solution.ipynb").write_text(SECRET)
    submission(inbound, honest, honest[0], 1)
    submission(inbound, mallory, honest[0], 2)  # in her name, later
    linked = submission(inbound, mallory, mallory[0], 3) / f"{ASSIGNMENT}.ipynb"
    linked.unlink()
    linked.symlink_to(private / "solution.ipynb")
    coursedir = CourseDirectory(
        root=str(tmp_path),
        course_id=COURSE_ID,
        assignment_id=ASSIGNMENT,
        submitted_directory="submitted",
        db_url=f"sqlite:///{tmp_path / 'gradebook.db'}",
    )
    ExchangeCollect(coursedir=coursedir, authenticator=Authenticator(), root=str(tmp_path / "exchange")).start()
    submitted = tmp_path / "submitted"
    assert f"{honest[0]} 2" in (submitted / honest[0] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert (submitted / mallory[0] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() == SECRET
