"""The same class graded by the previous grading code, for a side-by-side ratio in one benchmark run.

``checkout`` is another checkout of this bundle with its own ``.venv`` (for example a git
worktree of the last release: ``git worktree add ../base <tag> && make -C ../base setup``).
Its grader is run as its own command line, ``<checkout>/.venv/bin/python -m <package> grade``
(``coursegrader``, or ``grader`` before the packages were renamed), on a copy of the class, with
an environment stripped of this checkout's settings, and its ``grades.csv`` is read back.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

#: Variables of this checkout (its Makefile exports them) that must not reach the other one.
OURS = ("JUPYTER_CONFIG_PATH", "COURSE_EXCHANGE", "VIRTUAL_ENV", "COURSEGRADER_CPU_TIMING")


def package(checkout: Path) -> str:
    return "coursegrader" if (checkout / "autograder" / "coursegrader").is_dir() else "grader"


def _env(checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    mine = str(Path(__file__).resolve().parents[2] / ".venv" / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != Path(mine).resolve()]
    env["PATH"] = os.pathsep.join([str(checkout / ".venv" / "bin"), *path])
    return env


def grade_with(checkout: Path, submitted: Path, workdir: Path, profile: str, jobs: int | None) -> dict:
    """Grade a copy of ``submitted`` in ``workdir`` with the code of ``checkout``; its wall time and rows."""
    checkout = Path(checkout).resolve()
    python = checkout / ".venv" / "bin" / "python"
    if not python.is_file():
        raise SystemExit(f"{checkout} has no .venv: run `make -C {checkout} setup` first")
    shutil.copytree(submitted, workdir / "submitted")
    cmd = [str(python), "-m", package(checkout), "grade", "--workdir", str(workdir), "--profile", profile, "--force"]
    cmd += ["--jobs", str(jobs)] if jobs else []
    start = time.monotonic()
    with open(workdir / "bench-output.txt", "w", encoding="utf-8") as out:
        code = subprocess.run(cmd, cwd=checkout, env=_env(checkout), stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - start
    rows = _rows(workdir / "grades.csv")
    if code != 0 or not rows:
        raise SystemExit(f"the previous code failed (exit {code}); see {workdir / 'bench-output.txt'}")
    return {"wall": wall, "rows": rows, "unit_seconds": _unit_seconds(workdir)}


def _rows(path: Path) -> dict[tuple[str, str], dict]:
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


def _unit_seconds(workdir: Path) -> dict[str, list[float]]:
    """{assignment: seconds of each executed unit} from the previous code's stored results."""
    found: dict[str, list[float]] = {}
    for path in (workdir / ".results").glob("*/outcome.json"):
        outcome = json.loads(path.read_text(encoding="utf-8"))
        found.setdefault(outcome["assignment"], []).append(float(outcome["seconds"]))
    return found
