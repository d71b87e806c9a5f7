"""A grader killed mid-run leaves nothing running, and the next run grades everyone correctly.

`python -m coursegrader grade` (what `make grade` runs) grades the honest class's sentiment
submissions with two workers; while both units run their sandboxed kernels, its process group
gets SIGKILL, as an out-of-memory kill or a cluster's job limit would do it. Within seconds, no
process it started may remain: not the units (each in a session of its own, out of reach of the
signal), not bubblewrap, not the kernels. A second grader started meanwhile in the same folder
refuses to run; the rerun afterwards grades every row as expected (about three minutes in all).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from coursegrader import table
from coursegrader.course import ROOT
from coursegrader.grade import grade

MARKER = "COURSEGRADER_TEST_RUN"


def started_by(workdir: Path, marker: str) -> list[str]:
    """Processes of that grading run: the grader and its units carry ``marker`` in their environment,
    bubblewrap names the grading folder on its command line, and the kernels work inside it."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue  # ended meanwhile, or a kernel thread
        if marker.encode() in environ or str(workdir) in command or cwd.startswith(str(workdir)):
            found.append(f"{pid}: {command[:120]}")
    return found


def _wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    return condition()


def test_a_grader_killed_mid_run_leaves_nothing_running_and_the_rerun_grades_everyone(tmp_path):
    workdir, marker = tmp_path / "class", f"killed-{uuid.uuid4().hex}"
    command = [sys.executable, "-m", "coursegrader", "grade", "--workdir", str(workdir), "--profile", "smoke"]
    command += ["--demo", "honest", "--assignment", "sentiment", "--jobs", "2"]
    env = {**os.environ, MARKER: marker}
    with open(tmp_path / "killed.log", "w") as log:
        grader = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:

        def two_kernels():  # each kernel: bubblewrap outside the sandbox, and its init inside
            return sum("bwrap" in p for p in started_by(workdir, marker)) >= 4

        assert _wait_for(two_kernels, 300), f"no two kernels ran: {(tmp_path / 'killed.log').read_text()[-2000:]}"
        time.sleep(3)  # the kernels are at work
        second = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2 and "is being graded by another grader" in second.stderr
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
        left = _wait_for(lambda: not started_by(workdir, marker) or None, 5)
        assert left, f"still running after the grader was killed: {started_by(workdir, marker)}"
    finally:
        grader.kill()
    results = grade(workdir=workdir, profile="smoke", demo="honest", only=["sentiment"], jobs=2)
    expected = {key: want for key, want in table.read_expected("smoke", "honest").items() if key[1] == "sentiment"}
    got = results.by_row()
    assert set(got) == set(expected)
    wrong = {
        row: (got[row].score, str(got[row].status))
        for row, want in expected.items()
        if not table.matches(got[row], want)
    }
    assert not wrong, wrong
    assert not any(r.status.kind.retried for r in results) and not any(r.reused for r in results)
