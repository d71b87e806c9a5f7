"""``nbgrader collect`` that knows who hands in (``c.ExchangeFactory.collect``).

nbgrader's own collect takes, for each name found in ``inbound/``, the newest folder,
believing the name, and copies it with ``shutil.copytree``, following links. This one:

1. reads every submission folder of the assignment, newest first per student (or, with
   ``--before-duedate``, the newest before the due date first), and reports a folder whose
   name it cannot read instead of stopping the whole collect (nbgrader stops on it: one
   student's stray folder would hold up the class);
2. accepts a folder only if it belongs to the student it names (threat: a folder made
   under a classmate's name, later than hers, replaced her work); students cannot make
   folders that belong to anyone but themselves. A name that is no account on this machine
   (a course run by one person, whose "students" are all that person) must belong to the
   collecting user;
3. copies only what that owner could hand in (:mod:`.owned`: no links, no special files, no
   hard links, no one else's files, within size limits), into a fresh folder that replaces
   the collected copy in one rename, so a refusal halfway never leaves half a submission;
4. takes for each student the first folder that passes: a refused one is reported, by name
   and reason, and the student's previous submission is collected in its place.

Nothing here raises for one student's folder: every other submission is collected as usual.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import parse_utc
from traitlets import Float, Integer

from .owned import MB, Limits, Owner, Refused, take

#: What a student id read from a folder name may be: one path component, no glob characters.
STUDENT_ID = re.compile(r"[^./\s*?\[\]+][^/\s*?\[\]]*")


@dataclass(frozen=True)
class Submission:
    """One folder in ``inbound/``: ``<student>+<assignment>+<timestamp>[+<random>]``."""

    folder: str
    student: str
    timestamp: datetime


class OwnedCollect(ExchangeCollect):
    """Collects, for each student, their latest submission folder that they own and that holds only
    their own files (see the module docstring); reports every folder it refuses."""

    max_files = Integer(200, help="Files and folders one submission may hold.").tag(config=True)
    max_file_mb = Float(50.0, help="A larger file of a submission is left out (and reported).").tag(config=True)
    max_total_mb = Float(100.0, help="All files of one submission together.").tag(config=True)

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        self.refusals: list[str] = []
        self.candidates = self._candidates(self._submissions())
        self.src_records = [{"username": s, "filename": c[0].folder} for s, c in sorted(self.candidates.items())]

    def _submissions(self) -> list[Submission]:
        wanted = self.coursedir.student_id if self.coursedir.student_id not in ("", "*") else None
        found = []
        for folder in sorted(os.listdir(self.inbound_path)):
            parts = folder.rsplit("+", 3)
            if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
                continue  # another assignment's, or not a submission at all
            if wanted is not None and parts[0] != wanted:
                continue
            try:
                timestamp = parse_utc(parts[2])
            except (ValueError, OverflowError):
                self._refuse(folder, f"its time stamp {parts[2]!r} cannot be read")
                continue
            if not STUDENT_ID.fullmatch(parts[0]):
                self._refuse(folder, f"{parts[0]!r} cannot be a student id")
                continue
            found.append(Submission(folder, parts[0], timestamp))
        return found

    def _candidates(self, submissions: list[Submission]) -> dict[str, list[Submission]]:
        """Each student's folders in the order they are tried: nbgrader's choice first."""
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                duedate = None
        by_student: dict[str, list[Submission]] = {}
        for sub in sorted(submissions, key=lambda s: s.timestamp, reverse=True):
            by_student.setdefault(sub.student, []).append(sub)
        if duedate is not None and self.before_duedate:
            for student, subs in by_student.items():
                by_student[student] = [s for s in subs if s.timestamp <= duedate] + [
                    s for s in subs if s.timestamp > duedate
                ]
        return by_student

    def copy_files(self):
        assignment = self.coursedir.assignment_id
        self.log.info(f"Processing {len(self.candidates)} students' submissions of '{assignment}'")
        inbound = os.open(self.inbound_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for student, subs in sorted(self.candidates.items()):
                self._collect_student(inbound, student, subs)
        finally:
            os.close(inbound)
        if self.refusals:
            self.log.error(
                f"{len(self.refusals)} submission folder(s) of '{assignment}' were refused (each is named "
                f"above, with the reason); nobody else's submission was affected:\n  " + "\n  ".join(self.refusals)
            )

    def _collect_student(self, inbound: int, student: str, subs: list[Submission]) -> None:
        dest = Path(
            self.coursedir.format_path(self.coursedir.submitted_directory, student, self.coursedir.assignment_id)
        )
        if not self._wants(dest, subs[0]):
            return
        owner = self._owner(student)
        for rank, sub in enumerate(subs):
            if rank and not self._wants(dest, sub, quiet=True):  # what is left is older than what is collected
                self.log.warning(
                    f"{student}: their newer submission(s) were refused; the copy collected before is kept"
                )
                return
            if self._take(inbound, sub, dest, owner):
                if rank:
                    self.log.warning(f"{student}: collected their earlier submission {sub.folder} instead")
                return
        kept = "the copy collected before is kept" if dest.is_dir() else "nothing of theirs is graded"
        self.log.error(
            f"{student}: none of their {len(subs)} submission(s) of '{self.coursedir.assignment_id}' could be "
            f"collected (reasons above), so {kept}. Ask them to submit again with the Assignment List or "
            f"`nbgrader submit`."
        )

    def _wants(self, dest: Path, sub: Submission, quiet: bool = False) -> bool:
        """Whether ``sub`` should replace what is collected (nbgrader's rule: --update, --before-duedate)."""
        if not dest.is_dir():
            return True
        try:
            existing = self.coursedir.get_existing_timestamp(str(dest))
        except Exception:  # noqa: BLE001 - a time stamp file of the student's that nbgrader cannot read
            existing = None
        if self.update and (existing is None or sub.timestamp > existing):
            return True
        if self.before_duedate and existing != sub.timestamp:
            return True
        if not quiet:
            self.log.info(f"{sub.student}: the collected copy is up to date (use --update to replace it)")
        return False

    def _owner(self, student: str) -> Owner:
        """Who may own a folder that names ``student``: that user, if there is one; otherwise (a course
        run by one person, whose "students" are all that person) the collecting user."""
        try:
            return Owner(student, frozenset({pwd.getpwnam(student).pw_uid}))
        except KeyError:
            return Owner(f"the collecting user ({student} is no account here)", frozenset({os.geteuid()}))

    def _take(self, inbound: int, sub: Submission, dest: Path, owner: Owner) -> bool:
        # staged beside the students' folders (a dot folder: grading skips it), so that a refused
        # submission leaves nothing, not even an empty folder in its student's name
        staged = dest.parent.parent / f".collecting-{sub.student}-{dest.name}-{secrets.token_hex(6)}"
        staged.parent.mkdir(parents=True, exist_ok=True)
        try:
            taken = take(inbound, sub.folder, staged, owner, self._limits())
        except Refused as refused:
            shutil.rmtree(staged, ignore_errors=True)
            self._refuse(sub.folder, str(refused))
            return False
        except OSError as err:  # unreadable: the student's own doing, or a disk error
            shutil.rmtree(staged, ignore_errors=True)
            self._refuse(sub.folder, f"it could not be read ({err.strerror}: {err.filename or sub.folder})")
            return False
        for note in taken.left_out:
            self.log.warning(f"{sub.student}: left out of {sub.folder}: {note}")
        self._replace(staged, dest, sub)
        return True

    def _replace(self, staged: Path, dest: Path, sub: Submission) -> None:
        dest.parent.mkdir(exist_ok=True)
        old = dest.parent.parent / f".replaced-{sub.student}-{dest.name}-{secrets.token_hex(6)}"
        if dest.exists():
            dest.rename(old)
            self.log.info(f"Updating submission: {sub.student} {self.coursedir.assignment_id}")
        else:
            self.log.info(f"Collecting submission: {sub.student} {self.coursedir.assignment_id}")
        staged.rename(dest)
        shutil.rmtree(old, ignore_errors=True)

    def _limits(self) -> Limits:
        return Limits(
            files=self.max_files,
            file_bytes=int(self.max_file_mb * MB),
            total_bytes=int(self.max_total_mb * MB),
            ignore=tuple(self.coursedir.ignore),
            include=tuple(self.coursedir.include),
        )

    def _refuse(self, folder: str, reason: str) -> None:
        self.refusals.append(f"{folder}: {reason}")
        self.log.error(f"Refused inbound/{folder}: {reason}; nothing of it was collected")
