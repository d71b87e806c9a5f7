"""Grading a class in parallel: worker placement, incremental runs, killed workers, Dask.

The GPU placement is tested with fake device lists (no GPU here). The grading runs
use the smoke profile; test_grading.py grades the honest demo class one submission
at a time, so its scores are the reference the parallel and Dask runs must equal.
"""

import os
import signal
import subprocess
import threading
import time

import nbformat
import pytest

from coursegrader import machine, workers
from coursegrader.cells import solution_cell
from coursegrader.course import DEMO
from coursegrader.grade import grade
from coursegrader.schedule import Cores
from coursegrader.status import Kind, Status


def test_one_worker_per_gpu_each_seeing_only_its_gpu():
    envs = workers.worker_envs(None, ["0", "1", "2", "3"])
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "1", "2", "3"]
    envs = workers.worker_envs(None, ["0", "1"], per_gpu=3)
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["0", "0", "0", "1", "1", "1"]
    assert len(workers.worker_envs(2, ["0", "1", "2", "3"])) == 2


def test_without_gpus_the_cores_are_split_between_workers():
    envs = workers.worker_envs(None, [], cores=2, memory=24 * 2**30)
    assert [e["TF_NUM_INTRAOP_THREADS"] for e in envs] == ["1", "1"]
    envs = workers.worker_envs(4, [], cores=16)
    assert len(envs) == 4 and all(e["TF_NUM_INTRAOP_THREADS"] == "4" for e in envs)
    assert len(workers.worker_envs(None, [], cores=16, memory=64 * 2**30)) == 16
    assert len(workers.worker_envs(None, [], cores=16, memory=8 * 2**30)) == 2, "memory bounds the workers"
    assert workers.worker_envs(None, [], cores=8, memory=2**30) == [{"CUDA_VISIBLE_DEVICES": ""}]
    assert workers.worker_envs(1, [], cores=8) == [{"CUDA_VISIBLE_DEVICES": ""}]


def test_a_unit_expected_to_run_alone_gets_every_core_the_others_their_share():
    long, short1, short2, last = (object() for _ in range(4))
    share = {"TF_NUM_INTRAOP_THREADS": "1"}
    cores = Cores(
        [long, short1, short2, last], {id(long): 400, id(short1): 60, id(short2): 60, id(last): 300}, workers=2, cores=2
    )
    assert cores.start(long, share) == share, "400 s beside 420 s of other work: it shares"
    assert cores.start(short1, share) == share
    cores.done(long)
    cores.done(short1)
    assert cores.start(short2, share) == share, "300 s still to come"
    cores.done(short2)
    assert cores.start(last, share)["TF_NUM_INTRAOP_THREADS"] == "2", "nothing else left: it runs alone"
    assert (
        Cores([long, short1], {id(long): 500, id(short1): 60}, workers=2, cores=2).start(long, share)[
            "TF_NUM_INTRAOP_THREADS"
        ]
        == "2"
    ), "it outlasts the rest of the work"
    alone = Cores([long], {id(long): 10}, workers=2, cores=2)
    assert alone.start(long, share)["TF_NUM_INTRAOP_THREADS"] == "2", "a single unit uses the whole machine"


def test_visible_gpus_follow_cuda_visible_devices():
    assert machine.visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert machine.visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert machine.visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []


def scores(results):
    return {(r.student, r.assignment): (r.score, r.status) for r in results}


@pytest.fixture(scope="module")
def sequential(smoke_honest):
    return smoke_honest


def test_dask_cluster_grades_the_demo_class_exactly_like_one_worker(tmp_path, sequential):
    _, reference = sequential
    results = grade(workdir=tmp_path, profile="smoke", demo="honest", scheduler="local", jobs=2)
    assert scores(results) == scores(reference)


def test_a_second_run_grades_nothing_and_reuses_every_score(sequential):
    workdir, reference = sequential
    again = grade(workdir=workdir, profile="smoke", demo="honest", jobs=2)
    assert all(r.reused for r in again if not r.status.kind.absent)  # the roster's: nothing to grade
    assert scores(again) == scores(reference)
    one = grade(workdir=workdir, profile="smoke", demo="honest", students=["crashes"])
    assert [r.student for r in one if not r.reused and not r.status.kind.absent] == ["crashes"]
    assert scores(one) == scores(reference)


def test_killing_one_worker_loses_only_its_submission(tmp_path):
    submitted = tmp_path / "submitted"
    source = DEMO / "honest" / "passes-all" / "sentiment" / "sentiment.ipynb"
    for student in ("anna", "victim", "zoe"):  # three different answers: three units
        nb = nbformat.read(source, as_version=4)
        answer = solution_cell(nb)
        answer.source += f"\n# written by {student}"
        (submitted / student / "sentiment").mkdir(parents=True)
        nbformat.write(nb, submitted / student / "sentiment" / "sentiment.ipynb")
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.setdefault(
            "results", grade(workdir=tmp_path, profile="smoke", only=["sentiment"], jobs=2)
        )
    )
    runner.start()
    killed, deadline = False, time.monotonic() + 300
    while not killed and time.monotonic() < deadline and runner.is_alive():
        ps = subprocess.run(
            ["pgrep", "-f", "nbgrader autograde sentiment --student victim"], capture_output=True, text=True
        ).stdout.split()
        if ps:
            time.sleep(3)  # let it get going
            os.killpg(int(ps[0]), signal.SIGKILL)
            killed = True
        time.sleep(0.2)
    runner.join()
    assert killed, "the victim's grading process was never seen"
    results = {r.student: r for r in outcome["results"]}
    assert results["victim"].status == Status(Kind.GRADER_ERROR, "nbgrader was killed by signal 9 (see grading.log)")
    assert results["anna"].score == results["zoe"].score == 14
    again = {r.student: r for r in grade(workdir=tmp_path, profile="smoke", only=["sentiment"], jobs=2)}
    assert not again["victim"].reused and again["victim"].score == 14, "a grader error is graded again"
    assert again["anna"].reused and again["zoe"].reused
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assert gb.find_submission("sentiment", "anna").score == 14
        assert gb.find_submission("sentiment", "zoe").score == 14
