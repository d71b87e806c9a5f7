"""The bubblewrap sandbox around student kernels (coursegrader.sandbox).

The kernel tests start real sandboxed kernels (about half a second each); they
are skipped only when bwrap is not installed (CI installs bubblewrap). The
memory-cap tests with real kernels also need a writable cgroup memory
controller (CI runs as root); the cgroup bookkeeping is tested on fake trees.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_core.paths import jupyter_runtime_dir
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

import coursegrader.sandbox as sandbox
from coursegrader import machine
from coursegrader.course import ROOT
from coursegrader.errors import ConfigurationError
from coursegrader.sandbox import bwrap, cgroups
from coursegrader.sandbox.kernel import SandboxedKernelManager

needs_bwrap = pytest.mark.skipif(
    bwrap.bwrap_path() is None, reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
)
needs_memory_cgroup = pytest.mark.skipif(
    not cgroups.memory_cap_support()[0],
    reason="no writable cgroup memory controller here (needs Linux, root or a delegated cgroup v2 "
    "subtree): " + cgroups.memory_cap_support()[1],
)

SECRET = "MY_SECRET_TOKEN"


# --------------------------------------------------------------------------- helpers


class Kernel:
    """A started SandboxedKernelManager with a blocking client, driven from sync tests."""

    def __init__(self, cwd, **traits):
        self.loop = asyncio.new_event_loop()
        self.km = SandboxedKernelManager(**traits)
        self.loop.run_until_complete(self.km.start_kernel(cwd=str(cwd)))
        self.kc = BlockingKernelClient(connection_file=self.km.connection_file)
        self.kc.load_connection_file()
        self.kc.start_channels()
        # Without a manager the client judges "alive" by heartbeats, missed after 1 s by
        # default: on a loaded machine (parallel graders) a starting kernel looked dead.
        self.kc.hb_channel.time_to_dead = 10
        self.kc.wait_for_ready(timeout=60)

    def run(self, code, timeout=30):
        """Execute ``code``; return (reply content, printed text)."""
        out = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = self.kc.execute_interactive(textwrap.dedent(code), timeout=timeout, output_hook=hook)
        return reply["content"], "".join(out)

    def ok(self, code):
        content, text = self.run(code)
        assert content["status"] == "ok", content.get("traceback")
        return text

    def close(self):
        self.kc.stop_channels()
        self.loop.run_until_complete(self.km.shutdown_kernel(now=True))
        self.loop.close()


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A host folder that is not bound into the sandbox, holding a file."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.txt").write_text("host only")
    return folder


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extra")
    (folder / "given.txt").write_text("readable")
    return folder


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, extra):
    """One sandboxed kernel, started with a secret and a kept variable in the grader's environment."""
    if bwrap.bwrap_path() is None:
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    cwd = tmp_path_factory.mktemp("student")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET, "hunter2")
        mp.setenv("COURSE_PROFILE", "smoke")
        k = Kernel(cwd, extra_readonly=[str(extra)])
    k.cwd = cwd
    yield k
    k.close()


def tiny_notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


def cell_text(cell):
    return "".join(o.get("text", "") for o in cell.outputs)


# --------------------------------------------------------------------------- availability and policy


def test_mode_from_env_defaults_to_auto_and_rejects_unknown_values():
    assert sandbox.mode_from_env({}) == "auto"
    assert sandbox.mode_from_env({"SANDBOX": "Require"}) == "require"
    with pytest.raises(ValueError, match="auto, require, off"):
        sandbox.mode_from_env({"SANDBOX": "yes"})


def test_require_raises_and_auto_warns_loudly_without_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    assert sandbox.probe()[0] is False
    with pytest.raises(ConfigurationError, match="apt-get install bubblewrap"):
        sandbox.decide("require")
    use, message = sandbox.decide("auto")
    assert use is False
    assert "UNSANDBOXED" in message and "bwrap" in message and "grader's rights" in message
    use, message = sandbox.decide("off")
    assert use is False and "UNSANDBOXED" in message


@needs_bwrap
def test_probe_finds_a_working_sandbox_here():
    works, reason = sandbox.probe()
    assert works, reason
    assert sandbox.decide("require")[0] is True
    assert sandbox.decide("auto")[0] is True


def test_gpu_device_paths_lists_every_nvidia_node(tmp_path):
    for name in ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "null", "sda"]:
        (tmp_path / name).touch()
    (tmp_path / "nvidia-caps").mkdir()
    (tmp_path / "nvidia-caps" / "nvidia-cap1").touch()
    (tmp_path / "nvidia-caps" / "nvidia-cap2").touch()
    got = bwrap.gpu_device_paths(str(tmp_path))
    assert got == sorted(
        str(tmp_path / n)
        for n in [
            "nvidia0",
            "nvidia1",
            "nvidiactl",
            "nvidia-uvm",
            "nvidia-uvm-tools",
            "nvidia-modeset",
            "nvidia-caps/nvidia-cap1",
            "nvidia-caps/nvidia-cap2",
        ]
    )
    assert bwrap.gpu_device_paths(str(tmp_path / "nvidia-caps" / "none")) == []


def test_bwrap_argv_isolates_and_passes_gpus_through():
    argv = bwrap.bwrap_argv(
        ["python", "-m", "ipykernel_launcher"],
        cwd="/tmp/work/alice",
        runtime_dir="/tmp/rt",
        readonly=["/opt/env"],
        devices=["/dev/nvidia0", "/dev/nvidiactl"],
        env={"HOME": "/tmp"},
    )
    for flag in ["--unshare-all", "--unshare-net", "--die-with-parent", "--clearenv", "--new-session"]:
        assert flag in argv
    joined = " ".join(argv)
    assert "--dev-bind /dev/nvidia0 /dev/nvidia0" in joined
    assert "--dev-bind /dev/nvidiactl /dev/nvidiactl" in joined
    assert "--ro-bind-try /opt/env /opt/env" in joined
    assert "--bind /tmp/work/alice /tmp/work/alice" in joined
    assert "--bind /tmp/rt /tmp/rt" in joined
    assert "--setenv HOME /tmp" in joined
    assert "/" not in argv and "/etc" not in argv and "/root" not in argv  # never wholesale
    assert argv[-4:] == ["--", "python", "-m", "ipykernel_launcher"]
    # Parents are mounted before what lies inside them: the private /tmp first, then
    # the folders bound into it; /dev before the GPU nodes.
    assert joined.index("--tmpfs /tmp") < joined.index("--bind /tmp/work/alice")
    assert joined.index("--tmpfs /tmp") < joined.index("--bind /tmp/rt")
    assert joined.index("--dev /dev") < joined.index("--dev-bind /dev/nvidia0")


def test_bwrap_argv_recreates_merged_usr_symlinks():
    argv = " ".join(bwrap.bwrap_argv(["true"], cwd="/w", runtime_dir="/r", readonly=[], devices=[], env={}))
    for top in ["/bin", "/lib"]:
        if os.path.islink(top):
            assert f"--symlink {os.readlink(top)} {top}" in argv
        elif os.path.isdir(top):
            assert f"--ro-bind-try {top} {top}" in argv


def test_sandbox_env_keeps_only_the_whitelist():
    env = bwrap.sandbox_env(
        {"COURSE_PROFILE": "cpu", SECRET: "x", "JPY_PARENT_PID": "1", "PATH": "/evil"},
        keep=["COURSE_PROFILE", "JPY_PARENT_PID"],
    )
    assert env["COURSE_PROFILE"] == "cpu" and env["HOME"] == "/tmp"
    assert SECRET not in env and "JPY_PARENT_PID" not in env
    assert env["PATH"].split(os.pathsep)[0] == os.path.join(sys.prefix, "bin")


def test_manager_refuses_to_expose_the_bundle():
    km = SandboxedKernelManager(extra_readonly=[str(ROOT)])
    with pytest.raises(ValueError, match="refusing"):
        km.readonly_paths()


@needs_bwrap
@pytest.mark.parametrize("cwd", [str(ROOT), "/", str(Path.home())])
def test_manager_refuses_a_cwd_that_would_expose_the_bundle_or_home(cwd):
    km = SandboxedKernelManager()
    with pytest.raises(ValueError, match="refusing"):
        asyncio.run(km.start_kernel(cwd=cwd))
    assert km._sandbox_dir is None  # nothing was created


# --------------------------------------------------------------------------- real kernels


@needs_bwrap
def test_notebook_runs_in_sandbox_with_numpy_and_course_data(tmp_path):
    nb = tiny_notebook(
        "import numpy as np, coursekit.data as d\n"
        "print(int(np.arange(4).sum()), d.verified_path('cmn.txt.gz').stat().st_size > 0)"
    )
    client = NotebookClient(
        nb, kernel_manager_class=SandboxedKernelManager, timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    assert cell_text(nb.cells[0]).split() == ["6", "True"]


@needs_bwrap
def test_a_graded_kernel_sees_the_grader_s_data_copy_at_data_and_no_test_label(tmp_path):
    """While grading, data/ inside the sandbox is the copy with the held-out truth withheld."""
    from coursegrader.withhold import withheld_data_dir

    copy = withheld_data_dir()
    nb = tiny_notebook(
        "import os, coursekit.data as d\n"
        "print(d.data_dir(), sorted(os.listdir(d.data_dir())), sorted(d.withheld()))\n"
        "print(d.load_imdb()['test'].labels is None, os.path.exists(" + repr(str(copy)) + "))"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(copy))
        client = NotebookClient(
            nb,
            kernel_manager_class=SandboxedKernelManager,
            timeout=120,
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    first, second = cell_text(nb.cells[0]).splitlines()
    assert first.startswith(str(ROOT / "data") + " ") and "WITHHELD.json" in first
    assert "imdb_reviews.csv.gz" in first.split("]")[1]
    assert second.split() == ["True", "False"], "labels withheld; the copy's real path is not visible"


@needs_bwrap
def test_cell_timeout_interrupts_an_infinite_loop_and_the_next_cell_runs(tmp_path):
    """nbgrader's path: nbclient's time-out calls km.interrupt_kernel() (a control message)."""
    nb = tiny_notebook("while True:\n    pass", "print('after', 6 * 7)")
    client = NotebookClient(
        nb,
        kernel_manager_class=SandboxedKernelManager,
        timeout=3,
        interrupt_on_timeout=True,
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "KeyboardInterrupt"
    assert cell_text(nb.cells[1]).strip() == "after 42"


@needs_bwrap
def test_kernel_cannot_read_the_rest_of_the_bundle_or_the_host(kernel, outside):
    hidden = [
        next((ROOT / "solutions").rglob("*.ipynb")),
        ROOT / "autograder" / "nbgrader_config.py",
        ROOT / ".git",  # a folder in a clone, a file in a git worktree
        ROOT / "README.md",
        outside / "secret.txt",
        Path("/etc/shadow"),
        Path(jupyter_runtime_dir()),
    ]
    assert all(p.exists() for p in hidden[:5])  # they do exist on the host
    text = kernel.ok(f"""
        import os
        for p in {[str(p) for p in hidden]!r}:
            print(os.path.exists(p))
        print(sorted(os.listdir({str(ROOT)!r})))
        print(sorted(os.listdir('/etc')))
    """)
    lines = text.splitlines()
    assert lines[: len(hidden)] == ["False"] * len(hidden)
    bundle = eval(lines[len(hidden)])
    assert set(bundle) <= {"coursekit", "data", "fonts", ".venv"}
    assert "ssh" not in eval(lines[len(hidden) + 1])


@needs_bwrap
def test_kernel_writes_only_its_cwd_and_a_private_tmp(kernel, outside, extra):
    marker = f"scratch-{uuid.uuid4().hex}"
    text = kernel.ok(f"""
        import os
        def attempt(path):
            try:
                with open(path, 'w') as f:
                    f.write('x')
                return 'written'
            except OSError as e:
                return type(e).__name__
        print(attempt('from_student.txt'))
        print(attempt({str(ROOT / "coursekit" / "pwned.py")!r}))
        print(attempt({str(outside / "pwned.txt")!r}))
        print(attempt({str(extra / "pwned.txt")!r}))
        print(attempt('/tmp/{marker}'))
        print(open({str(extra / "given.txt")!r}).read())
        print(os.getcwd())
    """)
    assert text.splitlines() == [
        "written",
        "OSError",
        "FileNotFoundError",
        "OSError",
        "written",
        "readable",
        str(kernel.cwd),
    ]
    assert (kernel.cwd / "from_student.txt").read_text() == "x"
    assert not (ROOT / "coursekit" / "pwned.py").exists()
    assert not (outside / "pwned.txt").exists() and not (extra / "pwned.txt").exists()
    assert not Path("/tmp", marker).exists()  # the kernel's /tmp is its own


@needs_bwrap
def test_kernel_has_no_network(kernel):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.5)
        port = server.getsockname()[1]
        text = kernel.ok(f"""
            import socket
            try:
                socket.create_connection(('127.0.0.1', {port}), timeout=2)
                print('connected')
            except OSError as e:
                print(type(e).__name__)
        """)
        assert text.strip() in {"ConnectionRefusedError", "TimeoutError", "OSError"}
        with pytest.raises(TimeoutError):
            server.accept()


@needs_bwrap
def test_kernel_environment_holds_no_grader_secrets(kernel):
    text = kernel.ok(f"""
        import os
        print({SECRET!r} in os.environ, 'JPY_PARENT_PID' in os.environ)
        print(os.environ['COURSE_PROFILE'], os.environ['HOME'], os.environ['LC_ALL'])
    """)
    assert text.splitlines() == ["False False", "smoke /tmp C.UTF-8"]


@needs_bwrap
def test_connection_file_lives_in_a_private_dir_removed_at_shutdown(tmp_path):
    k = Kernel(tmp_path)
    folder = Path(k.km.connection_file).parent
    try:
        # only its owner may enter (jupyter_client adds the sticky bit when writing the file)
        assert folder.stat().st_mode & 0o777 == 0o700
        assert folder != Path(jupyter_runtime_dir())
        assert k.km.transport == "ipc" and k.km.ip.startswith(str(folder))
        assert k.km.kernel_spec.interrupt_mode == "message"
    finally:
        k.close()
    assert not folder.exists()


@needs_bwrap
@pytest.mark.parametrize("end", ["shutdown", "crash"])
def test_links_and_fifos_planted_in_cwd_are_removed_when_the_kernel_ends(tmp_path, outside, end):
    """The grader writes the graded notebook into the kernel's cwd afterwards: a planted
    symlink would redirect that write (or a later read) to any file the grader can reach."""
    (tmp_path / "given-link").symlink_to("sub")  # there before the kernel: kept
    k = Kernel(tmp_path)
    k.ok(f"""
        import os
        os.symlink({str(outside / "secret.txt")!r}, 'sentiment.ipynb')
        os.symlink('/', 'root')
        os.mkdir('sub'); os.mkfifo('sub/pipe')
        open('result.txt', 'w').write('kept')
    """)
    if end == "crash":  # nbclient then only calls cleanup_resources()
        k.kc.execute("import os; os._exit(1)")
        deadline = time.monotonic() + 10
        while k.loop.run_until_complete(k.km.is_alive()) and time.monotonic() < deadline:
            time.sleep(0.1)
        k.kc.stop_channels()
        k.loop.run_until_complete(k.km.cleanup_resources())
        k.loop.close()
    else:
        k.close()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["given-link", "result.txt", "sub"]
    assert (outside / "secret.txt").read_text() == "host only"


PARENT = """
import asyncio, os, sys
from coursegrader.sandbox.kernel import SandboxedKernelManager

def descendants(pid):
    found = []
    for d in filter(str.isdigit, os.listdir('/proc')):
        try:
            ppid = int(open(f'/proc/{d}/stat').read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        if ppid == pid:
            found += [int(d), *descendants(int(d))]
    return found

async def main():
    km = SandboxedKernelManager()
    await km.start_kernel(cwd=sys.argv[1])
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=60)
    print(km.connection_file, km.provisioner.pid, *descendants(km.provisioner.pid), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _dead(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@needs_bwrap
def test_kernel_dies_when_the_grader_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        connection_file, *pids = parent.stdout.readline().split() or [""]
        pids = [int(p) for p in pids]
        assert len(pids) >= 2, "bwrap and the kernel"  # bwrap, (bwrap's init), python kernel
        assert not any(_dead(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while not all(_dead(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_dead(p) for p in pids), [p for p in pids if not _dead(p)]
    # A SIGKILLed grader cannot clean up its kernel's private folder; do it here.
    shutil.rmtree(Path(connection_file).parent)


# --------------------------------------------------------------------------- memory caps


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


def test_default_memory_limit_shares_what_the_grader_leaves():
    G = 2**30
    assert machine.default_memory_limit(1, total_bytes=24 * G) == "22G"
    assert machine.default_memory_limit(2, total_bytes=24 * G) == "11G"
    assert machine.default_memory_limit(4, total_bytes=16 * G) == "3584M"  # 14 GiB / 4
    assert cgroups.parse_size(machine.default_memory_limit(3, total_bytes=24 * G)) <= 22 * G // 3
    assert machine.default_memory_limit(8, total_bytes=4 * G) == "1G"  # never below 1 GiB
    assert machine.default_memory_limit(1, total_bytes=G) == "1G"
    with pytest.raises(ValueError, match="at least 1"):
        machine.default_memory_limit(0, total_bytes=24 * G)
    real = cgroups.parse_size(machine.default_memory_limit(1))  # reads this machine
    assert 2**30 <= real <= max(machine.total_memory(), 2**30)


def test_memory_limit_trait_is_validated():
    assert SandboxedKernelManager().memory_limit == ""
    assert SandboxedKernelManager(memory_limit=" 2G ").memory_limit == "2G"
    with pytest.raises(Exception, match=r"memory_limit.*not valid"):
        SandboxedKernelManager(memory_limit="lots")


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
