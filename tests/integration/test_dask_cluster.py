"""A real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes started on their own, as a
cluster's are, on 127.0.0.1 (smoke profile, a few minutes).

The demo class graded there gets exactly the one-worker table, even when a worker process is
killed while it grades: Dask runs that unit again on the other worker, the gradebook gets each
submission once, and the table and the log say the unit ran again. Workers that cannot grade
as this machine does (no bubblewrap; the grading folder not visible) are refused, by name,
before anything is graded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from coursegrader.errors import ConfigurationError
from coursegrader.grade import grade
from coursegrader.status import Kind
from coursegrader.workers import RAN_AGAIN

BIN = Path(sys.executable).parent
RAN_AGAIN_START = RAN_AGAIN.split("{")[0]


class Cluster:
    """A scheduler and workers, each its own process; stopped (by pid) at the end."""

    def __init__(self, folder: Path):
        self.folder, self.workers, self.processes = folder, {}, []
        info = folder / "scheduler.json"
        scheduler = [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
        self._start([*scheduler, "--scheduler-file", info])
        deadline = time.monotonic() + 60
        while not info.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"]

    def _start(self, cmd, env=None, wrap=()):
        log = open(self.folder / f"process-{len(self.processes)}.log", "w")  # noqa: SIM115 - closed by the OS at exit
        process = subprocess.Popen(
            [*wrap, *map(str, cmd)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.folder
        )
        self.processes.append(process)
        return process

    def add_worker(self, name: str, env=None, wrap=()):
        cmd = [BIN / "dask", "worker", self.address, "--name", name, "--nthreads", "1", "--no-nanny"]
        cmd += ["--no-dashboard", "--local-directory", self.folder / f"dask-{name}"]
        self.workers[name] = self._start(cmd, env=env, wrap=wrap)

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=90)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster(tmp_path):
    running = Cluster(tmp_path)
    yield running
    running.stop()


def scores(results):
    return {(r.student, r.assignment): (r.score, r.status) for r in results}


def grading_children(worker_pids: set[int]) -> list[tuple[int, int]]:
    """``(nbgrader pid, its worker's pid)`` of every unit a worker is grading now."""
    found = subprocess.run(["pgrep", "-f", "coursegrader.run_nbgrader autograde"], capture_output=True, text=True)
    pairs = []
    for pid in map(int, found.stdout.split()):
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid in worker_pids:
            pairs.append((pid, ppid))
    return pairs


def test_a_killed_worker_loses_only_its_unit_which_runs_again_and_the_table_says_so(cluster, tmp_path, smoke_honest):
    _, reference = smoke_honest
    cluster.add_worker("first")
    cluster.add_worker("second")
    cluster.wait_for(2)
    pids = {p.pid: name for name, p in cluster.workers.items()}
    outcome = {}
    workdir = tmp_path / "class"
    runner = threading.Thread(
        target=lambda: outcome.setdefault(
            "results", grade(workdir=workdir, profile="smoke", demo="honest", scheduler=cluster.address)
        )
    )
    runner.start()
    killed, deadline = None, time.monotonic() + 300
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        busy = grading_children(set(pids))
        if busy:
            time.sleep(3)  # let the unit get going
            _, worker = busy[0]
            os.kill(worker, signal.SIGKILL)  # the worker process itself, as when its machine goes away
            killed = pids[worker]
        time.sleep(0.2)
    runner.join()
    assert killed, "no worker was ever seen grading"
    results = outcome["results"]
    assert scores(results) == scores(reference), "the table is the one-worker table"
    again = [r for r in results if any(w.startswith(RAN_AGAIN_START) for w in r.warnings)]
    assert again, "the rows of the unit that ran again say so"
    assert len({r.assignment for r in again}) == 1
    assert "ran again: the worker" in (workdir / "grading.log").read_text(encoding="utf-8")
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        for r in results:
            if r.status.kind is Kind.MISSING:  # nothing handed in: no gradebook submission either
                continue
            submissions = [s for s in gb.assignment_submissions(r.assignment) if s.student.id == r.student]
            # the gradebook keeps the score before a late penalty (coursegrader.settle applies it)
            assert len(submissions) == 1 and submissions[0].score == r.score + r.penalty


def test_workers_that_cannot_grade_here_are_refused_by_name_before_anything_is_graded(cluster, tmp_path):
    workdir = tmp_path / "refused"
    workdir.mkdir()
    no_bwrap = {**os.environ, "PATH": str(BIN)}  # bubblewrap is in /usr/bin, not on this PATH
    cluster.add_worker("without-bubblewrap", env=no_bwrap)
    hide = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", str(workdir)]  # the grading folder is not there
    cluster.add_worker("without-the-grading-folder", wrap=hide)
    cluster.wait_for(2)
    with pytest.raises(ConfigurationError) as refused:
        grade(workdir=workdir, profile="smoke", demo="honest", scheduler=cluster.address, sandbox="require")
    message = str(refused.value)
    assert "Refusing to grade on this Dask cluster: 2 of 2 worker(s)" in message
    assert "bubblewrap (bwrap) is not installed" in message
    assert f"cannot see the grading folder {workdir}" in message
    assert not (workdir / ".results").exists() and not (workdir / "autograded").exists()
