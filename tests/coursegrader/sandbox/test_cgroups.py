"""Memory caps (coursegrader.sandbox.cgroups): sizes, finding a cgroup to cap in, the cap's
bookkeeping on fake cgroup trees, and real kernels that pass their cap."""

import time

import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from coursegrader.sandbox import cgroups
from coursegrader.sandbox.kernel import SandboxedKernelManager
from tests.support.sandbox_kernels import Kernel, needs_bwrap, needs_memory_cgroup, tiny_notebook


@pytest.mark.parametrize(
    "text, size",
    [
        ("8G", 8 * 2**30),
        ("512M", 512 * 2**20),
        ("512m", 512 * 2**20),
        ("300MiB", 300 * 2**20),
        ("64KB", 64 * 1024),
        ("2T", 2 * 2**40),
        ("1.5G", 3 * 2**29),
        (" 4g ", 4 * 2**30),
        ("1048576", 1048576),
        ("100B", 100),
    ],
)
def test_parse_size(text, size):
    assert cgroups.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "8X", "eight G", "-1G", "0", "0M", "1iB", "8 G B"])
def test_parse_size_rejects_nonsense_with_a_clear_message(text):
    with pytest.raises(ValueError, match=r"memory size .* is not valid"):
        cgroups.parse_size(text)


def _fake_cgroup2(tmp_path, enabled_at):
    """A cgroup2-like tree: root > system.slice > grader.scope, memory enabled for the
    children of the groups in ``enabled_at``; returns (mountinfo, /proc/self/cgroup)."""
    scope = tmp_path / "system.slice" / "grader.scope"
    scope.mkdir(parents=True)
    for group in (tmp_path, tmp_path / "system.slice", scope):
        (group / "cgroup.controllers").write_text("cpu io memory pids\n")
        name = "." if group == tmp_path else str(group.relative_to(tmp_path))
        (group / "cgroup.subtree_control").write_text("cpu memory\n" if name in enabled_at else "cpu\n")
    mountinfo = (
        f"25 1 0:22 / /sys rw - sysfs sysfs rw\n30 25 0:26 / {tmp_path} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    )
    return mountinfo, "0::/system.slice/grader.scope\n"


def test_cgroup2_parent_is_the_nearest_group_whose_children_get_memory(tmp_path):
    mountinfo, own = _fake_cgroup2(tmp_path, enabled_at={".", "system.slice"})
    # grader.scope holds processes: enabling memory there fails for real (EBUSY) and, here,
    # does not show up as "memory" in its subtree_control either.
    assert cgroups.find_cgroup_parent(mountinfo, own) == (2, tmp_path / "system.slice")


def test_no_memory_controller_anywhere_means_a_clear_reason(tmp_path):
    mountinfo = f"30 25 0:26 / {tmp_path} rw - cgroup2 cgroup2 rw\n"
    (tmp_path / "cgroup.controllers").write_text("cpu hugetlb\n")
    with pytest.raises(cgroups.MemoryCapUnavailable, match=r"no memory controller.*no cgroup v1"):
        cgroups.find_cgroup_parent(mountinfo, "0::/\n")


def test_cgroup1_memory_controller_is_used_when_v2_has_no_memory(tmp_path):
    unified, memory = tmp_path / "unified", tmp_path / "memory"
    (memory / "jobs" / "grader").mkdir(parents=True)
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("hugetlb\n")
    mountinfo = (
        f"31 25 0:27 / {tmp_path}/cpu rw - cgroup cgroup rw,cpu\n"
        f"32 25 0:28 / {memory} rw - cgroup cgroup rw,memory\n"
        f"33 25 0:29 / {unified} rw - cgroup2 cgroup2 rw\n"
    )
    own = "4:memory:/jobs/grader\n1:cpu:/\n0::/\n"
    assert cgroups.find_cgroup_parent(mountinfo, own) == (1, memory / "jobs" / "grader")
    # in another cgroup namespace the own path is not visible: the mount point is used
    assert cgroups.find_cgroup_parent(mountinfo, "4:memory:/elsewhere\n") == (1, memory)


def test_memory_cap_bookkeeping_on_a_fake_cgroup2(tmp_path):
    cap = cgroups.MemoryCap.create(300 * 2**20, parent=(2, tmp_path))
    assert cap.path.parent == tmp_path and cap.path.name.startswith(cgroups.CGROUP_PREFIX)
    assert (cap.path / "memory.max").read_text() == str(300 * 2**20)
    argv = cap.wrap(["bwrap", "--", "python"])
    assert argv[:5] == ["/bin/sh", "-c", 'echo $$ > "$1" && shift && exec "$@"', "sh", str(cap.path / "cgroup.procs")]
    assert argv[5:] == ["bwrap", "--", "python"]
    assert cap.oom_killed() is False
    (cap.path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n")
    assert cap.oom_killed() is False
    (cap.path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert cap.oom_killed() is True
    for f in cap.path.iterdir():  # a real cgroupfs needs no emptying
        f.unlink()
    assert cap.remove(timeout=0) and not cap.path.exists()


def test_memory_cap_verdict_on_a_fake_cgroup1(tmp_path):
    cap = cgroups.MemoryCap.create(2**30, parent=(1, tmp_path))
    assert (cap.path / "memory.limit_in_bytes").read_text() == str(2**30)
    (cap.path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cap.oom_killed() is True
    # old kernels without an OOM-kill count: hitting the limit and dying
    (cap.path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (cap.path / "memory.failcnt").write_text("7\n")
    assert cap.oom_killed(died=True) is True and cap.oom_killed(died=False) is False


def test_no_cgroup_means_no_cap_and_says_why(tmp_path, monkeypatch):
    def unavailable(*args, **kwargs):
        raise cgroups.MemoryCapUnavailable("no cgroup v1 memory controller is mounted")

    monkeypatch.setattr(cgroups, "find_cgroup_parent", unavailable)
    km = SandboxedKernelManager(memory_limit="1G")
    argv = ["bwrap", "--", "python"]
    assert km._cap_memory(argv) == argv
    assert "no cgroup v1 memory controller" in km.memory_cap_problem
    assert km.memory_cap is None and km.oom_killed() is False
    assert SandboxedKernelManager()._cap_memory(argv) == argv  # no cap asked: no problem
    cgroups.memory_cap_support.cache_clear()
    try:
        works, message = cgroups.memory_cap_support()
        assert not works and "WITHOUT a memory cap" in message and "v1 memory controller" in message
    finally:
        cgroups.memory_cap_support.cache_clear()


OOM_CELL = "import numpy as np; blocks=[]\nwhile True: blocks.append(np.ones(50_000_000 // 8))"


@needs_bwrap
@needs_memory_cgroup
def test_a_runaway_allocation_kills_only_its_own_kernel(tmp_path):
    """A kernel capped at 300M allocating without end is OOM-killed (nbclient sees a dead
    kernel, the manager says it was the memory cap); the grader and a neighbour live on."""
    (tmp_path / "neighbour").mkdir()
    neighbour = Kernel(tmp_path / "neighbour", memory_limit="1G")
    try:
        nb = tiny_notebook(OOM_CELL, "print('never')")
        client = NotebookClient(
            nb, kernel_manager_class=SandboxedKernelManager, timeout=60, resources={"metadata": {"path": str(tmp_path)}}
        )
        km = client.create_kernel_manager()
        km.memory_limit = "300M"
        started = time.monotonic()
        with pytest.raises(DeadKernelError):
            client.execute()
        assert time.monotonic() - started < 50
        assert km.oom_killed() is True
        assert km.memory_cap is None  # the group was removed after recording the verdict
        # the grader stand-in (this process) and the neighbouring kernel are fine
        grader = np_sum_of_ones(100 * 2**20)
        assert grader == 100 * 2**20 // 8
        assert neighbour.ok("print(6 * 7)").strip() == "42"
        assert neighbour.km.oom_killed() is False
    finally:
        neighbour.close()


def np_sum_of_ones(nbytes):
    import numpy as np

    return int(np.ones(nbytes // 8).sum())


@needs_bwrap
@needs_memory_cgroup
def test_a_kernel_under_its_cap_runs_normally_in_its_own_cgroup(tmp_path):
    k = Kernel(tmp_path, memory_limit="1G")
    cap = k.km.memory_cap
    try:
        assert cap is not None and cap.path.is_dir() and k.km.memory_cap_problem is None
        limit_file = "memory.max" if cap.version == 2 else "memory.limit_in_bytes"
        assert int((cap.path / limit_file).read_text()) == 2**30
        # bwrap (the process jupyter_client started) and the kernel under it are all in it
        assert k.km.provisioner.pid in cap.pids() and len(cap.pids()) >= 3
        text = k.ok("""
            import numpy as np
            a = np.ones(100_000_000 // 8)
            print(int(a.sum()))
        """)
        assert text.strip() == str(100_000_000 // 8)
        assert k.km.oom_killed() is False
    finally:
        k.close()
    assert not cap.path.exists()
    assert k.km.oom_killed() is False and k.km.memory_cap is None


@needs_bwrap
@needs_memory_cgroup
def test_oom_is_readable_before_cleanup_and_the_group_goes_after_a_crash(tmp_path):
    """nbgrader's path: on DeadKernelError the grader asks before nbclient cleans up."""
    k = Kernel(tmp_path, memory_limit="300M")
    cap = k.km.memory_cap
    k.kc.execute(OOM_CELL)
    deadline = time.monotonic() + 30
    while k.loop.run_until_complete(k.km.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not k.loop.run_until_complete(k.km.is_alive())
    assert cap.path.is_dir() and k.km.oom_killed() is True
    k.kc.stop_channels()
    k.loop.run_until_complete(k.km.cleanup_resources())
    k.loop.close()
    assert not cap.path.exists() and k.km.oom_killed() is True
