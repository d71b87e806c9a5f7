"""The results of a run as a person reads them: grades.csv, the terminal table, the demo comparison."""

from __future__ import annotations

import csv
from pathlib import Path

from .course import EXPECTED_SCORES
from .results import Result, RowId
from .status import Status


def read_expected(
    profile: str, class_name: str = "honest", path: Path = EXPECTED_SCORES
) -> dict[RowId, tuple[float, Status]]:
    """{row: (score, status)} of one demo class in one profile (see :meth:`Status.matches`)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {
            RowId(row["student"], row["assignment"]): (float(row["score"]), Status.parse(row["status"]))
            for row in csv.DictReader(f)
            if row["profile"] == profile and row["class"] == class_name
        }


def write_csv(results: list[Result], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "student_id",
                "assignment",
                "score",
                "max_score",
                "status",
                "flagged",
                "to_grade_by_hand",
                "graded_with",
                "warnings",
                "seconds",
                "late_penalty",
                "late",
            ]
        )
        for r in results:
            writer.writerow(
                [
                    r.student,
                    r.assignment,
                    "" if r.score is None else f"{r.score:g}",
                    "" if r.max_score is None else f"{r.max_score:g}",
                    r.status,
                    "yes" if r.flagged else "",
                    r.to_grade or "",
                    r.shared - 1 if r.shared > 1 else "",
                    "; ".join(r.warnings),
                    f"{r.seconds:.0f}",
                    f"{r.penalty:g}" if r.penalty else "",
                    r.late,
                ]
            )


def print_table(results: list[Result], workdir: Path, demo: str | None, profile_names: dict[str, str]) -> bool:
    """Print the per-student table; for a demo class also compare with the expected scores."""
    expected = {}
    if demo:
        for name in set(profile_names.values()):
            expected.update({k: v for k, v in read_expected(name, demo).items() if profile_names.get(k[1]) == name})
    header = f"{'student':<20} {'assignment':<11} {'score':>11} {'time':>6}  status"
    print("\n" + header + "\n" + "-" * (len(header) + 30))
    all_match = True
    for r in results:
        score = "-" if r.score is None else f"{r.score:g} / {r.max_score:g}"
        took = "reused" if r.reused else f"{r.seconds:5.0f}s"
        line = f"{r.student:<20} {r.assignment:<11} {score:>11} {took:>6}  {r.status}"
        if r.to_grade:
            line += f" (+{r.to_grade} answer(s) to grade by hand)"
        if r.shared > 1:
            line += f" [run shared by {r.shared}]"
        if r.penalty:
            line += f" (late: -{r.penalty:g})"
        if demo:
            want = expected.get((r.student, r.assignment))
            if want is None:
                line += "  (no expected score for this profile)"
            else:
                ok = matches(r, want)
                all_match &= ok
                line += f"  [expected {want[0]:g}, {want[1]}: {'ok' if ok else 'MISMATCH'}]"
        print(line)
        if r.late:
            print(f"{'':<22}~ {r.late}")
        for warning in r.warnings:
            print(f"{'':<22}! {warning}")
    print(
        f"\ngrades:   {workdir / 'grades.csv'}\nfeedback: {workdir / 'feedback'}/<student>/<assignment>/"
        f"\nclass:    {workdir / 'class-report.html'}\nlog:      {workdir / 'grading.log'}"
    )
    if demo:
        print(
            "demo class:",
            "every score and status as expected" if all_match else "SOME RESULTS DIFFER FROM THE EXPECTED ONES",
        )
    return all_match


def matches(result: Result, want: tuple[float, Status]) -> bool:
    score, status = want
    return result.score is not None and abs(result.score - score) < 1e-9 and result.status.matches(status)
