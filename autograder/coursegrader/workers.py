"""Grading a class in parallel: on this machine's GPUs and cores, or on a Dask cluster.

nbgrader grades one submission at a time (nbgrader issue #174). Here every
submission is an independent unit of work (:func:`coursegrader.unit.run_unit`:
its own folder, its own gradebook, its own kernel), so workers can run side by
side; the parent merges each finished unit into the course gradebook, one at a
time, so a crashed or killed worker loses only its own submission.

* **Local workers** (default): ``JOBS`` threads, each driving one ``nbgrader
  autograde`` process. With GPUs, one worker per visible GPU (``JOBS_PER_GPU``
  per GPU), each seeing only its GPU through ``CUDA_VISIBLE_DEVICES``. Without,
  one worker per core (as memory allows), each with its share of the cores as
  TensorFlow threads, and every core for a unit expected to run alone.
* **Dask** (``SCHEDULER=local`` for a ``LocalCluster``, ``tcp://host:8786`` for a
  running scheduler, ``slurm`` / ``pbs`` through dask-jobqueue): the same unit
  runs on Dask workers, which must see the bundle and the grading folder at the
  same paths (a shared file system, as on any HPC cluster).
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence

from .errors import ConfigurationError
from .machine import GRADER_RESERVE, grading_cores, total_memory

#: memory a CPU worker's kernel should be able to use (the cpu profile needs about 1.5 GiB)
MEMORY_PER_CPU_WORKER = 3 * 2**30


def worker_envs(
    jobs: int | None, gpus: Sequence[str], per_gpu: int = 1, cores: int | None = None, memory: int | None = None
) -> list[dict[str, str]]:
    """One environment per worker: which GPU it sees, or how many CPU threads it may use.

    GPUs: ``per_gpu`` workers per GPU (``jobs`` caps the total); a worker sees one GPU.
    CPU only: ``jobs`` workers (default: one per core, as many as the memory allows at
    3 GiB each), the cores shared out as TensorFlow intra-op threads (a unit expected to run
    alone gets them all: :class:`coursegrader.schedule.Cores`); a single worker keeps TensorFlow's
    default. ``COURSEKIT_NO_THREAD_SPLIT=1`` lets every worker use every core (make
    bench-grade's control).
    """
    cores = cores or grading_cores()  # on a hub, less the students' reserve
    if memory is None:
        memory = total_memory()
    if gpus:
        slots = [{"CUDA_VISIBLE_DEVICES": gpu} for _ in range(max(1, per_gpu)) for gpu in gpus]
        slots.sort(key=lambda e: list(gpus).index(e["CUDA_VISIBLE_DEVICES"]))
        return slots[:jobs] if jobs else slots
    jobs = jobs or max(1, min(cores, (memory - GRADER_RESERVE) // MEMORY_PER_CPU_WORKER))
    if jobs == 1 or os.environ.get("COURSEKIT_NO_THREAD_SPLIT"):  # the latter: make bench-grade's control
        return [{"CUDA_VISIBLE_DEVICES": ""} for _ in range(jobs)]
    threads = str(max(1, cores // jobs))
    return [
        {
            "CUDA_VISIBLE_DEVICES": "",
            "TF_NUM_INTRAOP_THREADS": threads,
            "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": threads,
        }
        for _ in range(jobs)
    ]


class Progress:
    """A tqdm bar over the batch with ETA, and one live line per worker (on a terminal)."""

    def __init__(self, total: int, workers: int):
        from tqdm import tqdm

        self.live = sys.stderr.isatty()
        self.bar = tqdm(
            total=total, desc="graded", unit="submission", dynamic_ncols=True, disable=not self.live or total == 0
        )
        self.lines = [tqdm(total=0, position=i + 1, bar_format="{desc}", disable=not self.live) for i in range(workers)]
        self.started: dict[int, tuple[str, float]] = {}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def start(self, worker: int, what: str) -> None:
        with self.lock:
            self.started[worker] = (what, time.monotonic())

    def done(self, worker: int, line: str) -> None:
        with self.lock:
            self.started.pop(worker, None)
            self.bar.update(1)
            if self.live:
                self.bar.write(line)
            else:
                print(line, flush=True)

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self.lock:
                for i, line in enumerate(self.lines):
                    what, since = self.started.get(i, ("idle", time.monotonic()))
                    line.set_description_str(
                        f"  worker {i + 1}: {what} " + (f"{time.monotonic() - since:4.0f} s" if what != "idle" else "")
                    )

    def close(self) -> None:
        self._stop.set()
        for line in self.lines:
            line.close()
        self.bar.close()


def run_local(items: list, envs: list[dict[str, str]], work: Callable, describe: Callable, report: Callable) -> list:
    """Run ``work(item, env)`` for every item on ``len(envs)`` worker threads; return the results.

    Each worker owns one environment (one GPU, or a share of the cores) for its
    whole life. ``report(result)`` gives the line printed when an item is done.
    """
    slots: queue.Queue = queue.Queue()
    for i in range(len(envs)):
        slots.put(i)
    progress = Progress(len(items), len(envs))
    results: list = [None] * len(items)

    def one(index: int, item) -> None:
        worker = slots.get()
        try:
            progress.start(worker, describe(item))
            results[index] = work(item, envs[worker])
            progress.done(worker, report(results[index]))
        finally:
            slots.put(worker)

    threads = [threading.Thread(target=one, args=(i, item)) for i, item in enumerate(items)]
    try:
        # at most len(envs) threads hold a slot; the others wait in slots.get()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        progress.close()
    return results


def dask_client(scheduler: str, jobs: int):
    """A Dask client: a LocalCluster, a running scheduler, or a Slurm/PBS cluster (dask-jobqueue)."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        return Client(cluster)
    if scheduler in ("slurm", "pbs"):
        try:
            import dask_jobqueue
        except ImportError:
            raise ConfigurationError(
                f"SCHEDULER={scheduler} needs dask-jobqueue: `pip install dask-jobqueue`, "
                "and its cluster settings in ~/.config/dask/jobqueue.yaml"
            ) from None
        cluster_class = dask_jobqueue.SLURMCluster if scheduler == "slurm" else dask_jobqueue.PBSCluster
        cluster = cluster_class()
        cluster.scale(jobs=jobs)
        return Client(cluster)
    return Client(scheduler)


def run_dask(
    items: list,
    scheduler: str,
    jobs: int,
    make_spec: Callable,
    finish: Callable,
    report: Callable,
    check: Callable | None = None,
) -> list:
    """Run the unit of work of every item on a Dask cluster; ``finish`` merges each result here.

    ``check(client)`` runs first and may refuse the cluster (:mod:`coursegrader.cluster`). Dask
    runs a unit again when the worker running it is lost (up to its ``allowed-failures``); the
    unit's later attempt works in a folder of its own (:func:`coursegrader.unit.run_unit`), only
    the result that Dask hands back is merged, once, and its rows say that it ran again.
    """
    from distributed import as_completed

    from .unit import run_unit

    client = dask_client(scheduler, jobs)
    try:
        if check is not None:
            check(client)
        specs = [make_spec(item) for item in items]
        run_id = secrets.token_hex(4)  # a long-lived scheduler keeps keys: never reuse another run's
        futures = {
            client.submit(run_unit, spec, pure=False, key=f"grade-{run_id}-{i}"): i for i, spec in enumerate(specs)
        }
        progress = Progress(len(items), 0)
        results: list = [None] * len(items)
        for future in as_completed(futures):
            i = futures[future]
            try:
                outcome = future.result()
            except Exception as err:  # noqa: BLE001 - the worker died or raised: this submission only
                outcome = {"code": None, "seconds": 0.0, "error": f"{type(err).__name__}: {err}"}
            results[i] = finish(items[i], specs[i], outcome)
            for earlier in outcome.get("earlier") or ():
                for result in results[i]:
                    result.warnings.append(RAN_AGAIN.format(worker=earlier))
            progress.done(0, report(results[i]))
        progress.close()
        return results
    finally:
        client.close()


RAN_AGAIN = "graded again: the Dask worker {worker} was lost while grading it, and another worker ran it again"
