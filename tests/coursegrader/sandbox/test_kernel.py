"""Sandboxed kernels (coursegrader.sandbox.kernel), started for real: what they can read, write and
reach, what they hold, and that they end with the grader and leave nothing behind."""

import asyncio
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from jupyter_core.paths import jupyter_runtime_dir
from nbclient import NotebookClient

from coursegrader.course import ROOT
from coursegrader.sandbox.kernel import SandboxedKernelManager
from tests.support.sandbox_kernels import SECRET, Kernel, cell_text, needs_bwrap, tiny_notebook


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


def test_memory_limit_trait_is_validated():
    assert SandboxedKernelManager().memory_limit == ""
    assert SandboxedKernelManager(memory_limit=" 2G ").memory_limit == "2G"
    with pytest.raises(Exception, match=r"memory_limit.*not valid"):
        SandboxedKernelManager(memory_limit="lots")


@pytest.mark.integration  # a notebook run in a fresh sandboxed kernel that reads the course data: ~4 s
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


@pytest.mark.integration  # a fresh sandboxed kernel and a cell left to time out: ~4 s
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
