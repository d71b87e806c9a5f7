"""Execute a rebuilt submission: a sandboxed kernel, limits, a clean stop.

:class:`GradeExecute` replaces nbgrader's ``Execute`` in the autograde pipeline:
it runs the kernel in the sandbox (:mod:`coursegrader.sandbox`), gives every cell the
profile's time limit and the whole notebook its own (those of the graded lab's profile unless
given: formgrader's Autograde button gets the limits `make grade` gives), keeps the kernel within
its disk, file, process and output limits (:mod:`coursegrader.limits`), and stops at the first
time-out, limit passed or kernel death, remembering in which cell it happened. Cells the lab
marks ``skip_while_grading`` (display only, needed by no check, such as the
sentiment lab's bag-of-words baseline) are not run; the feedback says so.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode, default

from coursekit import profiles
from coursekit.checks.evidence import REQUESTS_VAR
from coursekit.data import DATA_ENV

from . import limits as limits_table
from .cells import META, grade_id
from .limits.channels import CappedKernelManager
from .limits.watch import Breach, Watcher, breach
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

    # Not nbgrader's 30 s per cell: by default each lab's own limits, from the profile $COURSE_PROFILE
    # selects (coursekit/profiles.py), the very ones `make grade` passes on its command line.
    timeout = Integer(
        None, allow_none=True, help="seconds per cell (None: the graded lab's profile's cell_timeout)"
    ).tag(config=True)
    notebook_timeout = Integer(
        None, allow_none=True, help="seconds for the whole notebook (0: no limit; None: the lab's profile's)"
    ).tag(config=True)
    shared_dir = Unicode(
        "", help="the values every kernel of the assignment shares, prepared once (coursegrader.prepare)"
    ).tag(config=True)
    sandbox = Unicode(
        "auto",
        help="on / off (as decided by the grading harness), or auto / require "
        "as for SANDBOX (formgrader's Autograde button): see coursegrader.sandbox",
    ).tag(config=True)

    disk_limit = Unicode(help="disk the kernel may write, e.g. '1G' ('': none); see coursegrader.limits").tag(
        config=True
    )
    file_limit = Integer(help="files and folders the kernel may create (0: no limit)").tag(config=True)
    process_limit = Integer(help="processes and threads the kernel may have at once (0: no limit)").tag(config=True)
    output_limit = Unicode(help="output the kernel may send per notebook, e.g. '8M' ('': none)").tag(config=True)

    # Without `make grade` (formgrader's Autograde button), the table's limits of $COURSE_PROFILE.
    @default("disk_limit")
    def _default_disk(self) -> str:
        return str(limits_table.defaults().disk or "")

    @default("file_limit")
    def _default_files(self) -> int:
        return limits_table.defaults().files or 0

    @default("process_limit")
    def _default_processes(self) -> int:
        return limits_table.defaults().processes or 0

    @default("output_limit")
    def _default_output(self) -> str:
        return str(limits_table.defaults().output or "")

    @property
    def limits(self) -> limits_table.Limits:
        return limits_table.parse(
            f"disk={self.disk_limit or 0} files={self.file_limit} processes={self.process_limit} "
            f"output={self.output_limit or 0}",
            limits_table.OFF,
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_manager_class = CappedKernelManager  # without the sandbox, the output limit still holds
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

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        given = self.limits
        for trait, value in (
            ("output_limit", str(given.output or "")),
            ("disk_limit", str(given.disk or "")),
            ("process_limit", given.processes or 0),
        ):
            if km.has_trait(trait):
                setattr(km, trait, value)
        return km

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
        self._cell_limit, self._notebook_limit = self.time_limits(resources["nbgrader"]["assignment"])
        self._cell_timeout = self._cell_limit
        self._timed_out = False
        from nbclient.client import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        start = time.monotonic()
        limit = self._notebook_limit or float("inf")
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

    def time_limits(self, lab: str) -> tuple[int, int]:
        """(seconds per cell, seconds per notebook): the ones configured, else the lab's profile's."""
        cell, notebook = self.timeout, self.notebook_timeout
        if cell is None or notebook is None:
            chosen = profiles.select(lab)
            cell = chosen.cell_timeout if cell is None else cell
            notebook = chosen.notebook_timeout if notebook is None else notebook
        return cell, notebook

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
        """Run the code cells in order; why it stopped early (time-out, limit, dead kernel), or None.
        ``clock`` times the kernel's start and every cell (for the benchmark; it decides nothing)."""
        stopped, last = None, None
        info = self.wait_for_reply(self.kc.kernel_info())
        self.nb.metadata["language_info"] = info["content"]["language_info"]
        clock.lap("kernel_start")
        with Watcher(self.km, self.kc, self.limits) as watcher:
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
                        "detail": f"the notebook time limit ({self._notebook_limit} s) was reached",
                    }
                    break
                self._cell_timeout = int(max(1, min(self._cell_limit or remaining, remaining)))
                last = (cell, index)
                try:
                    with clock.cell(cell_label(cell, index)):
                        self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    stopped = self._why_dead(cell, index, watcher.breach)
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
                if watcher.check():  # passed in this cell, which ended before the watch looked
                    stopped = self._stopped_by(watcher.breach, cell, index)
                    break
        self.log.info("Limits: %s", watcher.summary())
        if stopped is None and watcher.breach and last:  # passed after the last cell, by what it left running
            stopped = self._stopped_by(watcher.breach, *last)
        return stopped

    def _why_dead(self, cell, index: int, passed: Breach | None) -> dict:
        """Why the kernel died in ``cell``: a limit passed (the watcher's, or the process limit it
        died of before the watcher looked), its memory cap, or itself."""
        if passed is None and getattr(self.km, "process_limit_hit", lambda: False)():
            passed = breach("processes", self.limits)
        if passed is not None:
            return self._stopped_by(passed, cell, index)
        cell.metadata.setdefault(META, {})["ran"] = "died"
        oom = getattr(self.km, "oom_killed", None)
        if callable(oom) and oom():
            return {
                "why": "out of memory",
                "cell": cell_label(cell, index),
                "detail": "the kernel used more memory than its cap and was stopped",
            }
        return {
            "why": "kernel died",
            "cell": cell_label(cell, index),
            "detail": "the kernel process ended (for example os._exit or a crash)",
        }

    @staticmethod
    def _stopped_by(passed: Breach, cell, index: int) -> dict:
        """Stopped for passing a limit in ``cell``, which keeps what it showed and says where it was cut."""
        cell.metadata.setdefault(META, {})["ran"] = "stopped"
        note = f"The grader stopped the kernel here: {passed.detail}."
        cell.outputs.append(
            nbformat.v4.new_output("display_data", data={"text/plain": note}, metadata={META: {"limit": passed.kind}})
        )
        return {"why": passed.why, "cell": cell_label(cell, index), "detail": passed.detail, "limit": passed.kind}
