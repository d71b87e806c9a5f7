"""Pay once per class for what every graded kernel of an assignment computes alike.

Every graded notebook is the released lab with the student's answer cells put in, so the
lab's cells above its first code answer cell run the same code on the same data in every
student's kernel. Values those cells wrap in :func:`coursekit.shared.once` (the sentiment
lab's cleaned reviews) are computed here once, before the class's units need them:

* **who computes them**: a kernel like a graded one (the sandbox, its memory cap, the
  profile, the data with the truth withheld: :mod:`coursegrader.withhold`) running the
  *released* lab's cells above the first answer, with no student code in it at all. Its
  request file says ``"share": "write"``, so ``once`` also writes each value (JSON and
  ``.npy``, never pickles) into the kernel's own working folder;
* **where they are kept**: the grader copies the regular files of that folder to
  ``autograder/.cache/shared-<assignment>-<profile>-<key>/`` (the cache no sandbox
  mounts), keyed by that code, the profile's settings, the environment (packages, Python,
  the lab library, the grader, the data's checksums) and the withheld copy itself, so
  the test reviews in it are the withheld copy's, in its order, and nothing of ``data/``;
* **who reads them**: each graded kernel gets hard links to them next to its request
  file (:class:`coursegrader.execute.GradeExecute`), in a folder the sandbox binds
  read-only, so no kernel can change what another one reads. A unit that starts before
  they are ready computes them itself, as a student's kernel does; the values are the
  same either way, so no result depends on it.

The preparing kernel costs about what sharing saves two units, so it runs only when at
least :data:`WORTH_IT` units of an assignment are to be executed, and once per key.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from coursekit import data
from coursekit.checks.evidence import REQUESTS_VAR
from coursekit.shared import FOLDER

from . import keys
from .cells import is_answer
from .nbcommand import nbgrader_env
from .plan import released
from .withhold import CACHE, withheld_data_dir

VERSION = "1"
WORTH_IT = 3


def prefix(assignment: str) -> list | None:
    """The released lab's code cells above its first code answer cell (None without one)."""
    cells = released(assignment).cells
    first = next((i for i, c in enumerate(cells) if is_answer(c) and c.cell_type == "code"), None)
    if first is None:
        return None
    return [c for c in cells[:first] if c.cell_type == "code"]


def shared_dir(assignment: str, profile) -> Path:
    """Where the values shared by ``assignment``'s kernels in ``profile`` are kept (ready or not)."""
    withheld = withheld_data_dir()
    code = [c.source for c in prefix(assignment) or []]
    settings = json.dumps(dict(profile.settings), sort_keys=True, default=str)
    parts = [VERSION, assignment, profile.name, settings, keys.environment(), withheld.name]
    parts += [(withheld / name).read_text(encoding="utf-8") for name in ("SHA256SUMS", data.WITHHELD_FILE)]
    digest = hashlib.sha256("\0".join(parts + code).encode()).hexdigest()[:16]
    return CACHE / f"shared-{assignment}-{profile.name}-{digest}"


def ready(folder: Path | str | None) -> bool:
    """Whether ``folder`` holds prepared values (it appears whole, by a rename, or not at all)."""
    return bool(folder) and Path(folder, "manifest.json").is_file()


def link_into(folder: Path | str, handoff: Path | str) -> None:
    """Give a graded kernel the prepared values: hard links in ``handoff/shared`` (its request
    file's folder, read-only in the sandbox), or copies where links cannot be made."""
    target = Path(handoff) / FOLDER
    target.mkdir()
    for source in Path(folder).iterdir():
        if source.name == "manifest.json":
            continue
        try:
            os.link(source, target / source.name)
        except OSError:
            shutil.copyfile(source, target / source.name)
    os.chmod(target, 0o755)


class Preparing:
    """Prepares, in a background thread, the shared values of the assignments worth it."""

    def __init__(self, run, todo: list):
        self.run, self.thread, self.seconds = run, None, {}
        counts: dict[str, int] = {}
        for unit in todo:
            counts[unit.assignment] = counts.get(unit.assignment, 0) + 1
        wanted = [a for a, n in counts.items() if n >= WORTH_IT and prefix(a)]
        for assignment in counts:
            if prefix(assignment):
                run.shared[assignment] = str(shared_dir(assignment, run.profiles[assignment]))
        self.todo = [a for a in wanted if not ready(run.shared[a])]
        if self.todo:
            self.thread = threading.Thread(target=self._all, daemon=True)
            self.thread.start()

    def _all(self) -> None:
        for assignment in self.todo:
            start = time.monotonic()
            why = prepare(assignment, self.run)
            self.seconds[assignment] = time.monotonic() - start
            with open(self.run.log, "a", encoding="utf-8") as out:
                out.write(
                    f"===== {assignment}: values every kernel shares "
                    + (f"not prepared ({why})\n" if why else f"prepared in {self.seconds[assignment]:.0f} s\n")
                )

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def prepare(assignment: str, run) -> str | None:
    """Run the released lab's cells above the first answer once and keep what they shared;
    returns why not, or None when the values are ready."""
    profile = run.profiles[assignment]
    target = Path(run.shared[assignment])
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".preparing-", dir=CACHE))
    try:
        why = _execute(assignment, profile, run, work)
        if why is None:
            why = _keep(work / FOLDER, target)
        return why
    except Exception as err:  # noqa: BLE001 - units then compute the values themselves
        return f"{type(err).__name__}: {err}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _execute(assignment: str, profile, run, work: Path) -> str | None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbclient.exceptions import CellTimeoutError as Timeout

    nb = nbformat.v4.new_notebook(cells=prefix(assignment), metadata=released(assignment).metadata)
    requests = work / "request" / "requests.json"
    requests.parent.mkdir()
    requests.write_text(json.dumps({"nonce": "", "requests": {}, "share": "write"}), encoding="utf-8")
    os.chmod(requests.parent, 0o755)
    env = nbgrader_env(profile.name, {"CUDA_VISIBLE_DEVICES": "", "TF_NUM_INTRAOP_THREADS": "1"})
    env.update({REQUESTS_VAR: str(requests), data.DATA_ENV: str(withheld_data_dir())})
    client = NotebookClient(
        nb, km=_kernel_manager(run), timeout=profile.cell_timeout, resources={"metadata": {"path": str(work)}}
    )
    client.shutdown_kernel = "immediate"
    try:
        client.execute(env=env)
    except (CellExecutionError, Timeout) as err:
        return f"a cell of the released lab failed: {str(err).strip().splitlines()[-1][:200]}"
    return None


def _kernel_manager(run):
    if not run.sandbox:
        from jupyter_client.manager import AsyncKernelManager

        return AsyncKernelManager(kernel_name="python3")
    from .sandbox.kernel import SandboxedKernelManager

    return SandboxedKernelManager(kernel_name="python3", memory_limit=run.memory or "")


def _keep(produced: Path, target: Path) -> str | None:
    """Copy the regular files the preparing kernel wrote into the cache, whole or not at all."""
    if not produced.is_dir() or produced.is_symlink():
        return "the lab's cells shared no value"
    build = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        names = []
        for path in sorted(produced.iterdir()):
            if not stat.S_ISREG(path.lstat().st_mode):  # written by lab code, but links are never followed
                continue
            shutil.copyfile(path, build / path.name)
            names.append(path.name)
        (build / "manifest.json").write_text(json.dumps({"files": names}), encoding="utf-8")
        os.chmod(build, 0o755)
        for old in target.parent.glob(target.name.rsplit("-", 1)[0] + "-*"):
            if old != target:
                shutil.rmtree(old, ignore_errors=True)
        try:
            build.rename(target)
        except OSError:  # already there (another run was faster)
            pass
        return None
    finally:
        shutil.rmtree(build, ignore_errors=True)
