"""Execute a rebuilt submission: a sandboxed kernel, time limits, a clean stop.

:class:`GradeExecute` replaces nbgrader's ``Execute`` in the autograde pipeline:
it runs the kernel in the sandbox (:mod:`coursegrader.sandbox`), gives every cell the
profile's time limit and the whole notebook its own, and stops at the first
time-out or kernel death, remembering in which cell it happened. Cells the lab
marks ``skip_while_grading`` (display only, needed by no check, such as the
sentiment lab's bag-of-words baseline) are not run; the feedback says so.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from coursekit.checks.evidence import REQUESTS_VAR
from coursekit.data import DATA_ENV

from .cells import META, grade_id
from .prepare import link_into, ready
from .timing import Clock
from .withhold import withheld_data_dir


def cell_label(cell, index: int) -> str:
    gid = grade_id(cell)
    if gid:
        return gid
    if cell.metadata.get(META, {}).get("role") == "integrity":
        return "the autograder's integrity check"
    return f"cell {index + 1}"


class GradeExecute(Execute):
    """nbgrader's Execute with a sandboxed kernel, a notebook time limit and a clean stop."""

    notebook_timeout = Integer(0, help="seconds for the whole notebook (0: no limit)").tag(config=True)
    shared_dir = Unicode(
        "", help="the values every kernel of the assignment shares, prepared once (coursegrader.prepare)"
    ).tag(config=True)
    sandbox = Unicode(
        "auto",
        help="on / off (as decided by the grading harness), or auto / require "
        "as for SANDBOX (formgrader's Autograde button): see coursegrader.sandbox",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use = self.sandbox == "on"
        if self.sandbox in ("auto", "require"):
            from .sandbox import decide

            use, message = decide(self.sandbox)
            if not use:
                self.log.warning(message)
        if use:
            from .sandbox.kernel import SandboxedKernelManager

            self.kernel_manager_class = SandboxedKernelManager
        self.shutdown_kernel = "immediate"

    def _get_timeout(self, cell):
        return self._cell_timeout

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        try:
            await super()._async_handle_timeout(timeout, cell)
        except Exception:  # noqa: BLE001 - the interrupt itself failed: we stop here anyway
            pass
        message = f"the cell ran longer than its time limit ({timeout} s) and was stopped"
        return {
            "content": {
                "ename": "CellTimeoutError",
                "evalue": message,
                "status": "error",
                "traceback": [f"CellTimeoutError: {message}"],
            }
        }

    def preprocess(self, nb, resources=None, km=None):
        record = nb.metadata.setdefault(META, {})
        if record.get("answer_missing"):
            record["stopped"] = None
            return nb, resources
        self._cell_timeout = self.timeout
        self._timed_out = False
        from nbclient.client import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        start = time.monotonic()
        limit = self.notebook_timeout or float("inf")
        handoff = tempfile.mkdtemp(prefix="coursekit-requests-")
        clock = Clock(record.setdefault("timing", {}), pid=self._kernel_pid)
        try:
            with self.setup_kernel(env=self.kernel_env(record, handoff)):
                stopped = self._run_cells(resources, start, limit, clock)
        finally:
            shutil.rmtree(handoff, ignore_errors=True)
            clock.lap("kernel_shutdown")
        record["stopped"] = stopped
        record["seconds"] = round(time.monotonic() - start, 1)
        return self.nb, self.resources

    def kernel_env(self, record: dict, folder: str) -> dict[str, str]:
        """The kernel's environment: the grader's requests (a file in ``folder``, read-only in the
        sandbox), beside them the values every kernel of the class shares if they are ready
        (:mod:`coursegrader.prepare`), and the data with the held-out truth withheld, instead of ``data/``."""
        path = os.path.join(folder, "requests.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"nonce": record.get("evidence_nonce", ""), "requests": record.get("requests", {})}, f)
        if ready(self.shared_dir):
            link_into(self.shared_dir, folder)
            record.setdefault("timing", {})["prepared"] = True  # for the benchmark
        os.chmod(folder, 0o755)
        return {**os.environ, REQUESTS_VAR: path, DATA_ENV: str(withheld_data_dir())}

    def _kernel_pid(self) -> int | None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(process, "pid", None)

    def _run_cells(self, resources, start: float, limit: float, clock: Clock) -> dict | None:
        """Run the code cells in order; the reason it stopped early (time-out, dead kernel), or None.
        ``clock`` times the kernel's start and every cell (for the benchmark; it decides nothing)."""
        stopped = None
        info = self.wait_for_reply(self.kc.kernel_info())
        self.nb.metadata["language_info"] = info["content"]["language_info"]
        clock.lap("kernel_start")
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                continue
            skip = cell.metadata.get(META, {}).get("skip_while_grading")
            if skip:  # display only, and no check needs it: not worth a student's grading time
                cell.metadata[META]["ran"] = "skipped"
                self.nb.metadata[META].setdefault("skipped", []).append(str(skip))
                continue
            remaining = limit - (time.monotonic() - start)
            if remaining <= 1:
                stopped = {
                    "why": "timed out",
                    "cell": cell_label(cell, index),
                    "detail": f"the notebook time limit ({self.notebook_timeout} s) was reached",
                }
                break
            self._cell_timeout = int(max(1, min(self.timeout or remaining, remaining)))
            try:
                with clock.cell(cell_label(cell, index)):
                    self.preprocess_cell(cell, resources, index)
            except DeadKernelError:
                oom = getattr(self.km, "oom_killed", None)
                if callable(oom) and oom():
                    stopped = {
                        "why": "out of memory",
                        "cell": cell_label(cell, index),
                        "detail": "the kernel used more memory than its cap and was stopped",
                    }
                else:
                    stopped = {
                        "why": "kernel died",
                        "cell": cell_label(cell, index),
                        "detail": "the kernel process ended (for example os._exit or a crash)",
                    }
                cell.metadata.setdefault(META, {})["ran"] = "died"
                break
            if self._timed_out:
                stopped = {
                    "why": "timed out",
                    "cell": cell_label(cell, index),
                    "detail": f"the cell ran longer than {self._cell_timeout} s",
                }
                cell.metadata.setdefault(META, {})["ran"] = "timed out"
                break
            cell.metadata.setdefault(META, {})["ran"] = "yes"
        return stopped
