"""The results of a run as a person reads them: grades.csv, the terminal table, the demo comparison."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import EXPECTED_SCORES


@dataclass
class Result:
    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    status: str = "ok"
    warnings: list[str] = field(default_factory=list)
    flagged: bool = False
    shared: int = 1  # how many students' submissions this graded run served (identical code)
    to_grade: int = 0  # answers waiting for a TA's grade (formgrader)
    reused: bool = False  # not graded again: unchanged since the last run
    late: str = ""  # the hand-in against its due date, when that matters: late, or within an extension
    penalty: float = 0.0  # points lost for handing in late, already taken off ``score`` (coursegrader.settle)

    def as_saved(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "reused"}


class Results(list):
    """The rows of one grading run; ``demo_ok`` says whether a demo class got what it expects."""

    demo_ok: bool | None = None


def read_expected(
    profile: str, class_name: str = "honest", path: Path = EXPECTED_SCORES
) -> dict[tuple[str, str], tuple[float, str]]:
    """{(student, assignment): (score, status prefix)} of one demo class in one profile."""
    with open(path, newline="", encoding="utf-8") as f:
        return {
            (row["student"], row["assignment"]): (float(row["score"]), row["status"])
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


def print_table(
    results: list[Result], workdir: Path, use_demo: bool, profile_names: dict[str, str], demo_class: str = "honest"
) -> bool:
    """Print the per-student table; for a demo class also compare with the expected scores."""
    expected = {}
    if use_demo:
        for name in set(profile_names.values()):
            expected.update(
                {k: v for k, v in read_expected(name, demo_class).items() if profile_names.get(k[1]) == name}
            )
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
        if use_demo:
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
    if use_demo:
        print(
            "demo class:",
            "every score and status as expected" if all_match else "SOME RESULTS DIFFER FROM THE EXPECTED ONES",
        )
    return all_match


def matches(result: Result, want: tuple[float, str]) -> bool:
    score, status = want
    return result.score is not None and abs(result.score - score) < 1e-9 and result.status.startswith(status)
