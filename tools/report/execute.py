"""Execute the report's notebooks, one after the other, and record how each run went.

Each run executes its notebook with nbclient in ``<runs_dir>/<run>/`` and writes ``run_status.json``
there (ok or failed, the error, the cells that raised, the time it took). A failed run never stops the
others.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from coursekit import ROOT
from coursekit.summary import SUMMARY_FILE, _jsonable, load_summary

from .runs import CHECKPOINT_DIR, RUNS_DIR, STATUS_FILE, RunSpec, cell_timeout, run_env, run_specs

ERROR_LINES = 25
"""How many of the last lines of a failed run's error the report shows."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cell_errors(nb) -> list[dict]:
    """The errors an executed notebook's cells raised: cell number, exception, last traceback lines."""
    errors = []
    for number, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(output.get("traceback") or [])).splitlines()
                errors.append(
                    {
                        "cell": number,
                        "ename": output.get("ename", ""),
                        "evalue": _ANSI.sub("", str(output.get("evalue", ""))),
                        "traceback": "\n".join(line.rstrip() for line in trace[-ERROR_LINES:]),
                    }
                )
    return errors


def execute_notebook(notebook: Path, workdir: Path, env: Mapping[str, str], timeout: int) -> list[dict]:
    """Run ``notebook`` with nbclient in ``workdir`` (its working directory) with environment ``env``.

    A cell that raises does not stop the notebook (a graded check that fails, such as a BLEU floor in
    the smoke profile, must not keep the last cell from saving the summary): the errors are returned
    (see :func:`cell_errors`). A cell that runs past ``timeout`` seconds or a dying kernel raises.
    The executed notebook, outputs included, is saved in ``workdir`` under the notebook's name, and
    the kernel's own output (TensorFlow's log) goes to ``workdir/kernel.log``.
    """
    import nbformat
    from nbclient import NotebookClient

    workdir = Path(workdir)
    nb = nbformat.read(str(notebook), as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel, allow_errors=True, resources={"metadata": {"path": str(workdir)}}
    )
    with open(workdir / "kernel.log", "wb") as log:
        try:
            client.execute(env=dict(env), cwd=str(workdir), stdout=log, stderr=log)
        finally:
            nbformat.write(nb, str(workdir / Path(notebook).name))
    return cell_errors(nb)


def error_text(error: BaseException, lines: int = ERROR_LINES) -> str:
    """The last ``lines`` lines of ``error``'s message (nbclient puts the cell's traceback there)."""
    text = _ANSI.sub("", str(error)).rstrip() or repr(error)
    text = f"{type(error).__name__}: {text}" if type(error).__name__ not in text.splitlines()[-1] else text
    kept = [line.rstrip() for line in text.splitlines()]
    while kept and not kept[0].strip():
        kept.pop(0)
    if len(kept) > lines:  # the first line says what happened, the last ones where
        kept = [kept[0], "[...]", *kept[-(lines - 2) :]]
    return "\n".join(kept)


def run_one(
    spec: RunSpec,
    profile: str,
    runs_dir: Path = RUNS_DIR,
    checkpoint_dir: Path = CHECKPOINT_DIR,
    executor: Callable | None = None,
    root: Path | None = None,
    log=sys.stderr,
) -> dict:
    """Execute one run; return (and write to ``STATUS_FILE``) its status. Never raises for a failed run.

    ``executor(notebook, workdir, env, timeout)`` runs the notebook (default :func:`execute_notebook`);
    ``root`` is the bundle's top folder the notebook paths are relative to (default ``ROOT``).
    """
    executor = executor or execute_notebook
    root = ROOT if root is None else root
    workdir = Path(runs_dir) / spec.name
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in (SUMMARY_FILE, STATUS_FILE):  # a failed run must not show an earlier run's results
        (workdir / stale).unlink(missing_ok=True)
    Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    notebook = Path(root) / spec.notebook
    env = run_env(spec, profile, checkpoint_dir)
    timeout = cell_timeout(spec.lab, profile)
    status = {
        "run": spec.name,
        "notebook": spec.notebook,
        "profile": profile,
        "env": dict(spec.env),
        "cell_timeout": timeout,
        "status": "ok",
        "error": None,
        "cell_errors": [],
    }
    start = time.monotonic()
    try:
        _execute(executor, notebook, workdir, env, timeout, status)
    except Exception as error:  # noqa: BLE001 - any failure of one run is reported, not raised
        status.update(status="failed", error=error_text(error))
    status["seconds"] = round(time.monotonic() - start, 1)
    (workdir / STATUS_FILE).write_text(json.dumps(status, ensure_ascii=False, indent=1), encoding="utf-8")
    if log:
        _announce(spec, status, log)
    return status


def _execute(executor: Callable, notebook: Path, workdir: Path, env, timeout, status: dict) -> None:
    """Run the notebook, its cell errors into ``status``; raise when it wrote no summary (its last
    cell's job), saying which cell raised first if one did."""
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook {status['notebook']} does not exist")
    errors = executor(notebook, workdir, env, timeout)  # a list of cell errors, or None
    status["cell_errors"] = [_jsonable(e) for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    if not (workdir / SUMMARY_FILE).is_file():
        first = status["cell_errors"][:1]
        raise RuntimeError(
            f"the notebook wrote no {SUMMARY_FILE} (its last cell must call "
            f"coursekit.summary.save_summary(summary))"
            + (
                f"; {len(status['cell_errors'])} cell(s) raised, the first one cell {first[0]['cell']}:\n"
                f"{first[0]['traceback']}"
                if first
                else " and no cell raised an error"
            )
        )
    load_summary(workdir / SUMMARY_FILE)


def _announce(spec: RunSpec, status: dict, log) -> None:
    """One line per run on ``log``: ok (and any cells that raised anyway) or FAILED with the error."""
    outcome = "ok" if status["status"] == "ok" else "FAILED:\n" + textwrap.indent(status["error"], "    ")
    if status["status"] == "ok" and status["cell_errors"]:
        outcome += ", but cells raised: " + "; ".join(
            f"cell {e['cell']}: {e['ename']}: {e['evalue'][:120]}" for e in status["cell_errors"]
        )
    print(f"  {spec.name}: {outcome} ({status['seconds']:.0f} s)", file=log, flush=True)


def run_all(
    names: Sequence[str],
    profile: str,
    cell: str = "gru",
    runs_dir: Path = RUNS_DIR,
    checkpoint_dir: Path = CHECKPOINT_DIR,
    executor: Callable | None = None,
    root: Path | None = None,
    log=sys.stderr,
) -> list[dict]:
    """Execute ``names`` one after the other (each failure is recorded, the next run goes on)."""
    statuses = []
    specs = run_specs(names, cell)
    for i, spec in enumerate(specs, start=1):
        if log:
            extra = "".join(f" {k}={v}" for k, v in spec.env.items())
            print(
                f"[{i}/{len(specs)}] {spec.name}: {spec.notebook}{extra} (profile {profile}, "
                f"cell time limit {cell_timeout(spec.lab, profile)} s) in {Path(runs_dir) / spec.name}",
                file=log,
                flush=True,
            )
        statuses.append(run_one(spec, profile, runs_dir, checkpoint_dir, executor, root, log))
    return statuses
