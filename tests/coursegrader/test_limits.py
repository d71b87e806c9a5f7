"""Every kernel's disk, file, process and output limits, enforced outside it (coursegrader.limits).

The table and its text, the sandbox's part (sized tmpfs, read-only /dev, rlimits, pids cgroup)
and the grader's part (metered channels, the watcher) are tested on their own; then tiny
notebooks run through the grader's own execute step (GradeExecute, a real sandboxed kernel, about
a second each) and pass each limit in a known cell. Tests needing a pids cgroup skip without one.
"""

import json
import os
import subprocess
import sys
import time

import nbformat
import pytest
import zmq
from jupyter_client.session import Session

from coursegrader import limits
from coursegrader.cells import META
from coursegrader.limits import GiB, MiB, channels, usage, watch
from coursegrader.sandbox import bwrap, cgroups, pids, sweep
from coursegrader.status import Kind, Status, stopped
from coursekit import profiles

needs_bwrap = pytest.mark.skipif(bwrap.bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")


def _pids_cgroup() -> bool:
    try:
        cap = pids.ProcessCap.create(64)
    except pids.ProcessCapUnavailable:
        return False
    cap.remove(timeout=1)
    return True


needs_pids_cgroup = pytest.mark.skipif(not _pids_cgroup(), reason="no writable pids cgroup here (needs root)")
SMALL = {"disk_limit": "64M", "file_limit": 200, "process_limit": 64, "output_limit": "1M"}


# --------------------------------------------------------------------------- the table


def test_each_profile_has_its_limits_and_off_has_none():
    assert limits.defaults("smoke").disk == 512 * MiB and limits.defaults("full").disk == 4 * GiB
    assert all(limits.defaults(name).processes == 1024 for name in profiles.NAMES)
    assert limits.parse("off", limits.defaults("cpu")) == limits.OFF
    assert limits.parse("", limits.defaults("cpu")) == limits.defaults("cpu")


def test_limits_are_changed_by_kind_and_a_typo_says_what_is_valid():
    changed = limits.parse("disk=2G processes=2048, output=none", limits.defaults("cpu"))
    assert (changed.disk, changed.processes, changed.output) == (2 * GiB, 2048, None)
    assert changed.files == limits.defaults("cpu").files
    with pytest.raises(ValueError, match="disk, files, processes, output"):
        limits.parse("memory=8G", limits.OFF)
    with pytest.raises(ValueError, match="whole number"):
        limits.parse("processes=lots", limits.OFF)


def test_the_limits_are_part_of_a_profile_s_settings_and_so_of_every_key():
    smoke = profiles.select("sentiment", env={profiles.ENV_VAR: "smoke"})
    chosen = limits.with_limits(smoke)
    assert limits.from_setting(chosen.settings["limits"]) == limits.defaults("smoke")
    assert limits.with_limits(smoke, "off").settings != chosen.settings
    assert "limits" not in str(chosen), "the announcement says them in words (limits.describe)"
    assert limits.describe(limits.defaults("smoke")) == "512 MiB of disk, 10000 files, 1024 processes, 8 MiB of output"


@pytest.mark.parametrize(
    "kind,text",
    [
        ("disk", "wrote more than 512 MiB in classifier"),
        ("files", "created more than 10000 files in classifier"),
        ("processes", "started more than 1024 processes in classifier"),
        ("output", "printed more than 8 MiB in classifier"),
        ("forged", "sent the grader a forged message in classifier"),
    ],
)
def test_passing_a_limit_is_a_status_naming_the_limit_and_the_cell(kind, text):
    passed = watch.breach(kind, limits.defaults("smoke"))
    status = stopped(passed.why, "classifier")
    assert str(status) == text and status.kind.stopped
    assert Status.parse(text) == status
    assert status.kind is not Kind.GRADER_ERROR


# --------------------------------------------------------------------------- the sandbox's part


def test_a_disk_limit_sizes_the_tmpfs_mounts_and_makes_dev_read_only():
    argv = bwrap.bwrap_argv(["python"], cwd="/w", runtime_dir="/r", readonly=[], devices=[], env={}, tmpfs_size=99)
    joined = " ".join(argv)
    if bwrap.supports_tmpfs_size("bwrap"):
        assert "--size 99 --tmpfs /tmp" in joined and "--size 99 --tmpfs /dev/shm" in joined
    assert joined.index("--dev /dev") < joined.index("--tmpfs /dev/shm") < joined.index("--remount-ro /dev")
    assert argv[argv.index("--remount-ro") + 2] == "--chdir", "after every mount inside /dev"
    plain = " ".join(bwrap.bwrap_argv(["python"], cwd="/w", runtime_dir="/r", readonly=[], devices=[], env={}))
    assert "--remount-ro" not in plain and "--size" not in plain


def test_the_kernel_starts_under_rlimits_set_before_it_runs():
    show = "import resource as r; print(r.getrlimit(r.RLIMIT_FSIZE), r.getrlimit(r.RLIMIT_CORE))"
    argv = bwrap.rlimited([sys.executable, "-c", show], 4096, None)
    assert argv[1:3] == ["-I", "-S"], "no site, no environment: nothing of the kernel's runs before"
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(4096, 4096) (0, 0)", "no core dump of a crashing kernel in its working folder"


def _fake_v1_pids(tmp_path):
    folder = tmp_path / "pids" / "jobs"
    folder.mkdir(parents=True)
    return 1, folder


def test_a_process_cap_writes_pids_max_and_reads_whether_it_was_hit(tmp_path):
    cap = pids.ProcessCap.create(77, parent=_fake_v1_pids(tmp_path))
    assert (cap.path / "pids.max").read_text() == "77" and cap.own_group
    assert cap.wrap(["bwrap"])[-1] == "bwrap" and cap.procs_file in cap.wrap(["bwrap"])
    (cap.path / "pids.events").write_text("max 0\n")
    assert not cap.hit()
    (cap.path / "pids.events").write_text("max 3\n")
    assert cap.hit()


def test_on_cgroup2_the_process_limit_lives_in_the_kernel_s_memory_group(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("memory pids\n")
    memory = cgroups.MemoryCap.create(2**30, parent=(2, tmp_path))
    cap = pids.ProcessCap.create(50, memory)
    assert cap.path == memory.path and not cap.own_group
    assert cap.wrap(["bwrap"]) == ["bwrap"], "entering the memory group enters it"
    assert (memory.path / "pids.max").read_text() == "50"
    assert cap.remove() and memory.path.exists(), "the memory cap removes the group"


def test_no_pids_controller_is_a_reason_not_an_error(tmp_path, monkeypatch):
    def unavailable(*args, **kwargs):
        raise cgroups.MemoryCapUnavailable("no cgroup v1 pids controller is mounted")

    monkeypatch.setattr(pids, "find_cgroup_parent", unavailable)
    with pytest.raises(pids.ProcessCapUnavailable, match="pids controller"):
        pids.ProcessCap.create(10)


@needs_pids_cgroup
def test_groups_a_dead_grader_left_are_swept_with_what_runs_in_them():
    version, folder = cgroups.find_cgroup_parent(controller="pids")
    dead = subprocess.Popen(["true"])
    dead.wait()
    group = cgroups.KernelGroup(folder / f"{cgroups.CGROUP_PREFIX}{dead.pid}-0123456789ab", version)
    group.path.mkdir()
    straggler = subprocess.Popen(["sleep", "60"])
    try:
        (group.path / "cgroup.procs").write_text(str(straggler.pid))
        assert group.path in sweep.leftover_groups(folder)
        assert group.path in sweep.sweep(controllers=("pids",))
        assert straggler.wait(timeout=5) == -9 and not group.path.exists()
    finally:
        straggler.kill()
        group.remove(timeout=1)


def test_what_a_limit_falls_back_on_here_is_said_once(monkeypatch):
    monkeypatch.setattr(pids, "process_cap_support", lambda: (False, "Note: no pids cgroup (test)"))
    monkeypatch.setattr(bwrap, "supports_tmpfs_size", lambda tool: False)
    notes = limits.fallbacks(limits.defaults("smoke"))
    assert notes[0] == "Note: no pids cgroup (test)"
    if bwrap.bwrap_path():
        assert len(notes) == 2 and "cannot size a tmpfs" in notes[1]
    assert limits.fallbacks(limits.OFF) == []


# --------------------------------------------------------------------------- the grader's part


def test_a_walk_counts_allocated_bytes_and_stops_once_past_the_entries(tmp_path):
    (tmp_path / "dense").write_bytes(b"x" * 3 * MiB)
    with open(tmp_path / "sparse", "wb") as f:
        f.truncate(10 * GiB)  # takes no space: never mistaken for 10 GiB written
    (tmp_path / "tree").mkdir()
    for i in range(50):
        (tmp_path / "tree" / str(i)).touch()
    found = usage.written([str(tmp_path)], [])
    assert 3 * MiB <= found.bytes < 4 * MiB and found.entries == 53
    assert usage.written([str(tmp_path)], [], max_entries=10).entries == 11


def _channel_pair(limit):
    """A capped channel reading what a PUB socket sends, signed with the same key."""
    context = zmq.asyncio.Context()
    session = Session(key=b"secret")
    pub = zmq.Context.shadow(context.underlying).socket(zmq.PUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(f"tcp://127.0.0.1:{port}")
    channel = channels.CappedChannel(sub, session)
    channel.meter = channels.OutputMeter(limit)
    time.sleep(0.3)
    return context, session, pub, channel


def test_a_metered_channel_drops_what_passes_the_limit_and_what_is_forged():
    import asyncio

    context, session, pub, channel = _channel_pair(limit=4000)
    try:
        session.send(pub, "stream", {"name": "stdout", "text": "kept"})
        got = asyncio.run(channel.get_msg(timeout=5))
        assert got["content"]["text"] == "kept" and not channel.meter.over
        session.send(pub, "stream", {"name": "stdout", "text": "x" * 5000})
        assert asyncio.run(channel.get_msg(timeout=5)) == channels.ignored() and channel.meter.over
        channel.meter = channels.OutputMeter(10**6)
        pub.send_multipart([b"<IDS|MSG>", b"forged", b"{}", b"{}", b"{}", b"{}"])
        assert asyncio.run(channel.get_msg(timeout=5)) == channels.ignored()
        assert "Invalid Signature" in channel.meter.malformed
    finally:
        pub.close(linger=0)
        channel.close()
        context.term()


# --------------------------------------------------------------------------- real kernels


def run_notebook(tmp_path, sources, **traits):
    """The notebook of ``sources`` through GradeExecute (sandboxed): (notebook, the record's ``stopped``)."""
    from coursegrader.execute import GradeExecute

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nb.metadata[META] = {}
    execute = GradeExecute(sandbox="on", **{"timeout": 60, "notebook_timeout": 600, **SMALL, **traits})
    nb, _ = execute.preprocess(nb, {"metadata": {"path": str(tmp_path)}, "nbgrader": {"assignment": "sentiment"}})
    return nb, nb.metadata[META]["stopped"]


def shown(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)


WRITE_200_MIB = 'with open({path!r}, "wb") as f:\n    for _ in range(200):\n        f.write(b"x" * 2**20)'


@needs_bwrap
@pytest.mark.parametrize("path", ["big.bin", "/tmp/big.bin", "/dev/shm/big.bin"])
def test_writing_past_the_disk_limit_stops_the_kernel_in_that_cell(tmp_path, path):
    nb, why = run_notebook(tmp_path, ["print('before')", WRITE_200_MIB.format(path=path), "print('never')"])
    assert str(stopped(why["why"], why["cell"])) == "wrote more than 64 MiB in cell 2"
    assert shown(nb.cells[0]) == "before\n" and nb.cells[2].outputs == []
    assert "The grader stopped the kernel here" in shown(nb.cells[1])
    assert sum(f.stat().st_size for f in tmp_path.rglob("*")) < 70 * MiB, "one file stops just past the limit"


@needs_bwrap
def test_files_past_the_file_limit_stop_the_kernel(tmp_path):
    making = "import os\nos.makedirs('t', exist_ok=True)\nfor i in range(5000):\n    open(f't/{i}', 'w').close()"
    _, why = run_notebook(tmp_path, [making])
    assert (why["why"], why["cell"]) == ("created more than 200 files", "cell 1")


@needs_bwrap
def test_the_kernel_can_neither_write_dev_nor_raise_its_limits(tmp_path):
    trying = (
        "import resource\n"
        "try:\n    open('/dev/mine', 'w')\nexcept OSError as err:\n    print(err.errno)\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_FSIZE, (2**40, 2**40))\nexcept ValueError as err:\n"
        "    print('refused')"
    )
    nb, why = run_notebook(tmp_path, [trying])
    assert why is None and shown(nb.cells[0]).split() == ["30", "refused"]  # 30: EROFS


@needs_bwrap
@needs_pids_cgroup
@pytest.mark.parametrize("how", ["fork", "thread"])
def test_processes_or_threads_past_the_limit_stop_the_kernel(tmp_path, how):
    start = {
        "fork": "pid = os.fork()\n    if pid == 0:\n        time.sleep(60); os._exit(0)",
        "thread": "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
    }[how]
    bomb = (
        f"import os, threading, time\nwhile True:\n  try:\n    {start}\n"
        "  except (OSError, RuntimeError):\n    time.sleep(0.01)"
    )
    _, why = run_notebook(tmp_path, ["print(1)", bomb, "print('never')"])
    assert (why["why"], why["cell"]) == ("started more than 64 processes", "cell 2")


@needs_bwrap
@pytest.mark.parametrize(
    "printing",
    [
        'print("x" * (40 * 2**20))',  # one message, refused by the socket
        "for i in range(10**7):\n    print('line', i)",  # many messages, metered
        "get_ipython().kernel.iopub_socket.send_multipart([b'x' * 2**20] * 3, copy=False)\nimport time\n"
        "time.sleep(30)",  # around print, in parts
    ],
    ids=["one-huge-print", "many-prints", "raw-parts"],
)
def test_output_past_the_limit_keeps_the_start_and_stops_the_kernel(tmp_path, printing):
    nb, why = run_notebook(tmp_path, ["print('before')", printing, "print('never')"])
    assert (why["why"], why["cell"]) == ("printed more than 1 MiB", "cell 2")
    assert shown(nb.cells[0]) == "before\n"
    kept = shown(nb.cells[1])
    assert "the rest was cut" in kept and len(kept) < 2 * MiB


@needs_bwrap
def test_a_forged_message_stops_the_kernel_never_the_grader(tmp_path):
    forged = "get_ipython().kernel.iopub_socket.send_multipart([b'<IDS|MSG>', b'x', b'{}', b'{}', b'{}', b'{}'])\n"
    _, why = run_notebook(tmp_path, [forged + "import time\ntime.sleep(30)"])
    assert (why["why"], why["cell"]) == ("sent the grader a forged message", "cell 1")


@needs_bwrap
def test_without_limits_nothing_is_stopped(tmp_path):
    off = {"disk_limit": "", "file_limit": 0, "process_limit": 0, "output_limit": ""}
    nb, why = run_notebook(tmp_path, [WRITE_200_MIB.format(path="big.bin"), 'print("x" * (2 * 2**20))'], **off)
    assert why is None and len(shown(nb.cells[1])) > 2 * MiB


GRADER = """
import json, sys
sys.path.insert(0, {tests!r})
from coursegrader.limits import usage
before = usage.own_resident_bytes()
from tests.coursegrader.test_limits import run_notebook
import pathlib
try:
    _, why = run_notebook(pathlib.Path(sys.argv[1]), [sys.argv[2]], **json.loads(sys.argv[3]))
    why = why and why["why"]
except Exception as err:  # without the limit, nbclient itself may give up on the output
    why = type(err).__name__
# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's resident memory at fork
# (a whole test session's), the high-water mark of its own memory does not
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"why": why, "peak": peak}}))
"""


def grader_peak(tmp_path, source, **traits):
    """``(why the kernel stopped, the grader's peak memory)``, grading ``source`` in a process of its own."""
    script = GRADER.format(tests=str(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), source, json.dumps({"timeout": 240, **SMALL, **traits})],
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = json.loads(run.stdout.strip().splitlines()[-1])
    return found["why"], found["peak"]


@needs_bwrap
@pytest.mark.integration  # three graders of their own, about a minute
def test_the_grader_s_memory_stays_bounded_whatever_a_kernel_sends(tmp_path):
    """One 64 MiB print, then 4 GiB in parts of 1 MiB: the grader's peak stays far below either."""
    why, peak_print = grader_peak(tmp_path, 'print("x" * (64 * 2**20))')
    assert (why, peak_print < 400 * MiB) == ("printed more than 1 MiB", True), peak_print
    flood = (
        "get_ipython().kernel.iopub_socket.send_multipart([b'x' * 2**20] * 4096, copy=False)\n"
        "import time\ntime.sleep(200)"
    )
    why, peak_flood = grader_peak(tmp_path, flood)
    bound = peak_print + watch.GRADER_HEADROOM + 400 * MiB
    assert (why, peak_flood < bound) == ("printed more than 1 MiB", True), (peak_flood, bound)
    _, peak_unlimited = grader_peak(tmp_path, 'print("x" * (64 * 2**20))', output_limit="")
    assert peak_unlimited > peak_print + 64 * MiB, ("without the limit the grader holds the print", peak_unlimited)
