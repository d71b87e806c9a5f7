"""The hub's spawner enforces a server's memory and CPU limits with a cgroup (autograder/hub/).

Fake cgroup trees (v1 and v2) check where the groups go and what is written; on a machine where
this test is root, a real group stops a process that allocates past its memory cap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coursegrader.course import ROOT

sys.path.insert(0, str(ROOT / "autograder" / "hub"))
import coursespawner  # as the hub does: from the folder of its configuration

M = 2**20


def v2_tree(tmp_path: Path) -> tuple[str, str, Path]:
    """A unified hierarchy; the hub in /hub.service (holds processes), its parent can delegate."""
    top = tmp_path / "cg2"
    (top / "system.slice" / "hub.service").mkdir(parents=True)
    for group in (top, top / "system.slice", top / "system.slice" / "hub.service"):
        (group / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (top / "cgroup.subtree_control").write_text("cpu memory\n")
    (top / "system.slice" / "cgroup.subtree_control").write_text("cpu io memory pids\n")
    (top / "system.slice" / "hub.service" / "cgroup.subtree_control").write_text("")
    mountinfo = f"30 1 0:26 / {top} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    return mountinfo, "0::/system.slice/hub.service\n", top


def test_cgroup_v2_groups_go_under_the_nearest_group_that_can_have_children(tmp_path):
    mountinfo, proc, top = v2_tree(tmp_path)
    version, found = coursespawner.parents(mountinfo, proc)
    assert (version, found) == (2, {"": top / "system.slice"})
    limits = coursespawner.ServerLimits.create("jupyterhub-bob", 3 * 2**30, 1.5, mountinfo, proc)
    group = top / "system.slice" / "jupyterhub-bob"
    assert limits.folders == [group]
    assert (group / "memory.max").read_text() == str(3 * 2**30)
    assert (group / "cpu.max").read_text() == "150000 100000"


def test_cgroup_v1_groups_go_in_the_memory_and_cpu_hierarchies(tmp_path):
    memory, cpu = tmp_path / "memory" / "hubs", tmp_path / "cpu,cpuacct"
    memory.mkdir(parents=True)
    cpu.mkdir()
    mountinfo = (
        f"40 1 0:30 / {memory.parent} rw - cgroup cgroup rw,memory\n"
        f"41 1 0:31 / {cpu} rw - cgroup cgroup rw,cpu,cpuacct\n"
        "42 1 0:32 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"  # hybrid: no controllers there
    )
    proc = "4:memory:/hubs\n3:cpu,cpuacct:/\n0::/\n"
    limits = coursespawner.ServerLimits.create("jupyterhub-bob", 512 * M, 1.0, mountinfo, proc)
    assert limits.version == 1 and limits.folders == [memory / "jupyterhub-bob", cpu / "jupyterhub-bob"]
    assert (memory / "jupyterhub-bob" / "memory.limit_in_bytes").read_text() == str(512 * M)
    assert (cpu / "jupyterhub-bob" / "cpu.cfs_quota_us").read_text() == "100000"
    assert (cpu / "jupyterhub-bob" / "cpu.cfs_period_us").read_text() == "100000"


def test_without_the_controllers_a_server_is_not_started_unlimited(tmp_path):
    with pytest.raises(coursespawner.LimitsUnavailable, match="memory and cpu"):
        coursespawner.ServerLimits.create("jupyterhub-bob", 512 * M, 1.0, "", "0::/\n")


HOG = textwrap.dedent("""
    import time
    chunks = []
    for _ in range(64):  # up to 1 GiB, 16 MiB at a time, touched so that it is really used
        chunks.append(bytearray(16 * 2**20))
        time.sleep(0.01)
    print("allocated 1 GiB")
""")


def test_a_process_in_a_servers_group_has_its_limits_and_is_stopped_at_its_memory_cap():
    if os.geteuid() != 0:
        pytest.skip("making cgroups needs root (the hub runs as root)")
    try:
        limits = coursespawner.ServerLimits.create(f"coursespawner-test-{os.getpid()}", 256 * M, 0.5)
    except coursespawner.LimitsUnavailable as err:
        pytest.skip(str(err))
    try:
        sleeper = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: limits.enter(os.getpid()))
        try:
            assert coursespawner.limits_of(sleeper.pid) == (256 * M, 0.5)
        finally:
            sleeper.kill()
            sleeper.wait()
        proc = subprocess.run(
            [sys.executable, "-c", HOG],
            preexec_fn=lambda: limits.enter(os.getpid()),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == -9 and "allocated" not in proc.stdout, (proc.returncode, proc.stdout, proc.stderr)
    finally:
        assert limits.remove(), f"{limits.folders} not removed"
    assert not any(folder.exists() for folder in limits.folders)
