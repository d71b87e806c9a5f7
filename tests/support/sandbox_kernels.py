"""Sandboxed kernels driven from sync tests, tiny notebooks, and the markers that skip the tests
needing bubblewrap or a writable cgroup memory controller where there is none.

The kernel tests start real sandboxed kernels (about half a second each); they are skipped only
when bwrap is not installed (CI installs bubblewrap). The memory-cap tests with real kernels also
need a writable cgroup memory controller (CI runs as root); the cgroup bookkeeping is tested on
fake trees.
"""

import asyncio
import textwrap

import nbformat
import pytest
from jupyter_client.blocking import BlockingKernelClient

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


def tiny_notebook(*sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


def cell_text(cell):
    return "".join(o.get("text", "") for o in cell.outputs)
