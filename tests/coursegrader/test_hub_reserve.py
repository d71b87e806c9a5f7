"""Grading on the machine students use leaves them the cores and memory of COURSE_HUB_RESERVE."""

from __future__ import annotations

import pytest

from coursegrader import machine, workers
from coursegrader.errors import ConfigurationError
from coursegrader.schedule import Cores

G = 2**30


@pytest.mark.parametrize(
    ("text", "cores", "memory"),
    [
        ("cores=50% memory=50%", 4, 12 * G),
        ("cores=2 memory=8G", 2, 8 * G),
        ("memory=25%", 0, 6 * G),
        ("cores=1", 1, 0),
        ("cores=33%", 3, 0),  # a share is rounded up: never less than asked for the students
        ("none", 0, 0),
        ("", 0, 0),
    ],
)
def test_a_reserve_is_read_as_cores_and_bytes(text, cores, memory):
    assert machine.parse_reserve(text, cores=8, memory=24 * G) == machine.Reserve(cores, memory)


@pytest.mark.parametrize("text", ["half", "cores=two", "memory=lots", "cores=1 gpus=1", "cpus=2"])
def test_a_misspelt_reserve_says_what_to_write(text):
    with pytest.raises(ConfigurationError, match="cores=50% memory=50%"):
        machine.parse_reserve(text, cores=8, memory=24 * G)


def test_workers_and_memory_caps_count_only_on_what_the_reserve_leaves(monkeypatch):
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(machine, "_machine_memory", lambda: 24 * G)
    monkeypatch.setattr(machine, "own_cgroup_limit", lambda: None)
    monkeypatch.delenv(machine.RESERVE_VAR, raising=False)
    alone = len(workers.worker_envs(None, []))
    monkeypatch.setenv(machine.RESERVE_VAR, "cores=50% memory=50%")
    shared = workers.worker_envs(None, [])
    assert (alone, len(shared)) == (7, 3), "24 GiB less the grader's 2 at 3 GiB each; then 12 GiB less 2"
    assert {env["TF_NUM_INTRAOP_THREADS"] for env in shared} == {"1"}  # 4 cores left, 3 workers
    assert machine.total_memory() == 12 * G
    assert machine.default_memory_limit(1) == "10G"
    assert Cores([], {}, workers=2).cores == 4, "a unit alone gets the cores left, not the students'"


def test_a_reserve_never_leaves_the_grader_less_than_one_core_and_one_kernel(monkeypatch):
    monkeypatch.setattr(machine.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(machine, "_machine_memory", lambda: 4 * G)
    monkeypatch.setattr(machine, "own_cgroup_limit", lambda: None)
    monkeypatch.setenv(machine.RESERVE_VAR, "cores=100% memory=100%")
    assert machine.grading_cores() == 1
    assert machine.total_memory() == machine.GRADER_RESERVE + machine.MIN_KERNEL_MEMORY
