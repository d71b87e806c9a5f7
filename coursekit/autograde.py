"""nbgrader preprocessors that make an autograde trustworthy.

nbgrader's own ``autograde`` pipeline stays in charge (gradebook, formgrader and
``export`` keep working); ``autograder/nbgrader_config.py`` swaps in three steps:

* :class:`RebuildFromRelease` (sanitize step, first): the graded notebook is the
  *released* lab with the student's answer cells put in, matched by nbgrader
  ``grade_id``. Whatever else the student changed (edited, deleted, added,
  re-typed or re-ordered cells, extra notebooks' metadata) is ignored and listed
  as a warning. It also adds the integrity cells (:mod:`coursekit.integrity`).
* :class:`GradeExecute` (replaces nbgrader's ``Execute``): runs the kernel in the
  sandbox (:mod:`coursekit.sandbox`), gives every cell the profile's time limit
  and the whole notebook its own, and stops at the first time-out or kernel
  death, remembering in which cell it happened.
* :class:`ScoreByAssertions` (before ``SaveAutoGrades``): a check earns its
  points exactly when its code raised nothing. Warnings printed to stderr and a
  check's return value are shown but cost nothing; checks that never ran, or
  that ran while an object they rely on was replaced, get an error and so 0.

What happened is recorded in the notebook's metadata under ``coursekit``; the
grading harness (:mod:`coursekit.grading`) turns it into the status column and
the feedback (:mod:`coursekit.feedback`).
"""
from __future__ import annotations

import ast
import copy
import secrets
import time
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from traitlets import Integer, Unicode

from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbclient.exceptions import DeadKernelError

from . import ROOT, integrity

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
META = "coursekit"


# --------------------------------------------------------------------------- rebuild

def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_check(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def rebuild(submitted, released) -> tuple[NotebookNode, list[str], list[str]]:
    """The released notebook with the submitted answer cells put in.

    Returns ``(notebook, warnings, missing)``: ``warnings`` lists, in words, every
    change outside the answers that was ignored; ``missing`` the grade_ids of
    answer cells the submission does not have.
    """
    nb = copy.deepcopy(released)
    released_ids = [grade_id(c) for c in released.cells if grade_id(c)]
    by_id: dict[str, list] = {}
    added = 0
    for cell in submitted.get("cells", []):
        gid = grade_id(cell)
        if gid in released_ids:
            by_id.setdefault(gid, []).append(cell)
        else:
            added += 1
    warnings, missing = [], []
    for cell in nb.cells:
        gid = grade_id(cell)
        theirs = by_id.get(gid, [])
        if is_answer(cell):
            if not theirs:
                missing.append(gid)
                continue
            if len(theirs) > 1:
                warnings.append(f"answer cell `{gid}` appears {len(theirs)} times; the first one was graded")
            if theirs[0].get("cell_type") != cell.cell_type:
                warnings.append(f"answer cell `{gid}` was changed to a {theirs[0].get('cell_type')} cell; "
                                f"its text was graded as {cell.cell_type}")
            cell.source = _text(theirs[0].get("source", ""))
            continue
        if gid is None:
            continue
        if not theirs:
            warnings.append(f"cell `{gid}` was deleted (the released cell was used)")
        elif (_text(theirs[0].get("source", "")) != cell.source
              or theirs[0].get("cell_type") != cell.cell_type):
            warnings.append(f"cell `{gid}` was edited (the released cell was used)")
    if added:
        warnings.append(f"{added} cell(s) added outside the released ones were ignored")
    order = [grade_id(c) for c in submitted.get("cells", []) if grade_id(c) in released_ids]
    seen = list(dict.fromkeys(order))
    if seen != [g for g in released_ids if g in seen]:
        warnings.append("cells were re-ordered (the released order was used)")
    return nb, warnings, missing


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


# --------------------------------------------------------------------------- integrity cells

def _nodes(source: str) -> list:
    """Every AST node of a cell's code (none if it does not parse)."""
    try:
        return list(ast.walk(ast.parse(source)))
    except SyntaxError:
        return []


def names_used(source: str) -> set[str]:
    """Dotted names a cell's code reads (``np.testing.assert_allclose``, ``len``...)."""
    names = set()
    for node in _nodes(source):
        if isinstance(node, ast.Attribute):
            parts, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                parts.append(inner.id)
                parts.reverse()
                for i in range(1, len(parts) + 1):
                    names.add(".".join(parts[:i]))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
    return names


def names_bound(source: str) -> set[str]:
    """Names a cell assigns, defines or imports, anywhere in its code."""
    bound = set()
    for node in _nodes(source):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound


def _integrity_cell(code: str, point: str) -> NotebookNode:
    cell = nbformat.v4.new_code_cell("# Added by the autograder (not part of the lab): integrity check.\n" + code)
    cell.metadata[META] = {"role": "integrity", "point": point}
    return cell


def add_integrity_cells(nb, nonce: str) -> None:
    """Snapshot before the first answer cell; verify after every later check and at the end."""
    first = next((i for i, c in enumerate(nb.cells) if is_answer(c)), None)
    if first is None:
        return  # a worked lab: no student code runs
    later = nb.cells[first:]
    rebound = set().union(*(names_bound(c.source) for c in later if c.cell_type == "code"))
    used = set().union(*(names_used(c.source) for c in later if is_check(c)))
    # names the checks read that exist before the answer and that no later cell rebinds
    guarded = sorted(n for n in used if n.split(".")[0] not in rebound)
    snapshot = _integrity_cell(
        f'__import__("coursekit.integrity", fromlist=["snapshot"]).snapshot(globals(), {guarded!r}, {nonce!r})',
        "snapshot")
    cells = nb.cells[:first] + [snapshot]
    for cell in nb.cells[first:]:
        cells.append(cell)
        if is_check(cell):
            cells.append(_integrity_cell(
                f'__import__("coursekit.integrity", fromlist=["verify"]).verify(globals(), {grade_id(cell)!r})',
                grade_id(cell)))
    cells.append(_integrity_cell(
        '__import__("coursekit.integrity", fromlist=["verify"]).verify(globals(), "end")', "end"))
    nb.cells = cells


class RebuildFromRelease(NbGraderPreprocessor):
    """Grade the answer, not the notebook: rebuild it from the released lab (sanitize step)."""

    release_root = Unicode(str(ROOT / "labs"), help="folder holding <assignment>/<notebook>.ipynb "
                           "as released to students").tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        notebook = resources["nbgrader"]["notebook"]
        released = nbformat.read(Path(self.release_root) / assignment / f"{notebook}.ipynb", as_version=4)
        previous = nb.metadata.get(META, {})
        rebuilt, warnings, missing = rebuild(nb, released)
        nonce = secrets.token_hex(12)
        add_integrity_cells(rebuilt, nonce)
        rebuilt.metadata[META] = {
            # the harness's own notes (e.g. the file name) come first; anything else is dropped
            "warnings": [w for w in previous.get("warnings", []) if isinstance(w, str)] + warnings,
            "answer_missing": missing, "nonce": nonce,
        }
        return rebuilt, resources


# --------------------------------------------------------------------------- execution

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
    sandbox = Unicode("auto", help="on / off (as decided by the grading harness), or auto / require "
                      "as for SANDBOX (formgrader's Autograde button): see coursekit.sandbox"
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
            from .sandbox import SandboxedKernelManager
            self.kernel_manager_class = SandboxedKernelManager
        self.shutdown_kernel = "immediate"

    def _get_timeout(self, cell):
        return self._cell_timeout

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        try:
            await super()._async_handle_timeout(timeout, cell)
        except Exception:  # the interrupt itself failed: we stop here anyway
            pass
        message = f"the cell ran longer than its time limit ({timeout} s) and was stopped"
        return {"content": {"ename": "CellTimeoutError", "evalue": message, "status": "error",
                            "traceback": [f"CellTimeoutError: {message}"]}}

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
        stopped = None
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = limit - (time.monotonic() - start)
                if remaining <= 1:
                    stopped = {"why": "timed out", "cell": cell_label(cell, index),
                               "detail": f"the notebook time limit ({self.notebook_timeout} s) was reached"}
                    break
                self._cell_timeout = int(max(1, min(self.timeout or remaining, remaining)))
                try:
                    self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    oom = getattr(self.km, "oom_killed", None)
                    if callable(oom) and oom():
                        stopped = {"why": "out of memory", "cell": cell_label(cell, index),
                                   "detail": "the kernel used more memory than its cap and was stopped"}
                    else:
                        stopped = {"why": "kernel died", "cell": cell_label(cell, index),
                                   "detail": "the kernel process ended (for example os._exit or a crash)"}
                    cell.metadata.setdefault(META, {})["ran"] = "died"
                    break
                if self._timed_out:
                    stopped = {"why": "timed out", "cell": cell_label(cell, index),
                               "detail": f"the cell ran longer than {self._cell_timeout} s"}
                    cell.metadata.setdefault(META, {})["ran"] = "timed out"
                    break
                cell.metadata.setdefault(META, {})["ran"] = "yes"
        record["stopped"] = stopped
        record["seconds"] = round(time.monotonic() - start, 1)
        return self.nb, self.resources


# --------------------------------------------------------------------------- scoring

def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _stdout_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def integrity_problems(nb) -> dict[str, list[str]]:
    """{check grade_id, "snapshot" or "end": reasons} from the integrity cells' reports.

    Every integrity cell that ran must have written exactly one report carrying this
    run's nonce; a missing, extra or foreign report counts as tampering too.
    """
    nonce = nb.metadata.get(META, {}).get("nonce")
    problems: dict[str, list[str]] = {}
    for cell in nb.cells:
        meta = cell.metadata.get(META, {})
        if meta.get("role") != "integrity" or meta.get("ran") != "yes":
            continue
        point = meta["point"]
        reports = integrity.parse_reports(_stdout_text(cell))
        if len(reports) != 1 or reports[0].get("nonce") != nonce or reports[0].get("point") != point:
            problems[point] = ["an integrity check without one valid report (were print, sys.stdout, "
                               "hooks or the autograder's helpers replaced?)"]
            continue
        report = reports[0]
        reasons = [f"replaced {', '.join(report['changed'][:8])}"] if report.get("changed") else []
        reasons += [f"installed {', '.join(report['hooks'])}"] if report.get("hooks") else []
        if reasons:
            problems[point] = reasons
    return problems


class ScoreByAssertions(NbGraderPreprocessor):
    """A check earns its points exactly when its code raised nothing (runs before SaveAutoGrades)."""

    def preprocess(self, nb, resources):
        record = nb.metadata.setdefault(META, {})
        stopped = record.get("stopped")
        missing = record.get("answer_missing")
        problems = integrity_problems(nb)
        checks, notes, errors = [], [], []
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get(META, {})
            if meta.get("role") == "integrity":
                continue
            if cell.cell_type == "code" and not is_check(cell) and not is_answer(cell):
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error" and not errors:
                        errors.append(f"the first locked cell that failed is `{cell_label(cell, index)}`: "
                                      f"{out.get('ename')}: {_first_line(out.get('evalue', ''))}")
                for line in _stdout_text(cell).splitlines():
                    if line.startswith("Worked around:"):
                        notes.append(line)
            if not is_check(cell):
                continue
            gid = grade_id(cell)
            warned = []
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    warned.append(out.get("text", ""))
                    out = nbformat.v4.new_output("display_data", data={"text/plain": out.get("text", "")},
                                                 metadata={META: {"stderr": True}})
                elif out.get("output_type") == "execute_result":
                    out = nbformat.v4.new_output("display_data", data=out.get("data", {}),
                                                 metadata=out.get("metadata", {}))
                outputs.append(out)
            cell.outputs = outputs
            ran = meta.get("ran")
            if missing:
                cell.outputs.append(error_output("AnswerMissing", f"the answer cell(s) {', '.join(missing)} "
                                                 "are not in the submitted notebook"))
            elif ran is None:
                where = stopped["cell"] if stopped else "an earlier cell"
                why = stopped["why"] if stopped else "stopped"
                cell.outputs.append(error_output("NotRun", f"this check did not run: the notebook {why} "
                                                 f"in {where}"))
            elif ran == "timed out" and not any(o.get("output_type") == "error" for o in cell.outputs):
                cell.outputs.append(error_output("CellTimeoutError", stopped["detail"]))
            if gid in problems:
                cell.outputs.append(error_output(
                    "Flagged", "this check ran while the submission had " + "; ".join(problems[gid]) +
                    ". It gets 0 points and the submission goes to manual review."))
            passed = not any(o.get("output_type") == "error" for o in cell.outputs)
            message = ""
            for o in cell.outputs:
                if o.get("output_type") == "error":
                    message = f"{o.get('ename')}: {o.get('evalue')}"
            checks.append({"grade_id": gid, "points": float(nbgrader_meta(cell).get("points", 0)),
                           "passed": passed, "message": message, "hidden": HIDDEN_BEGIN in cell.source,
                           "warnings": warned})
        record["checks"] = checks
        record["notes"] = notes
        record["errors"] = errors
        record["flagged"] = sorted({r for reasons in problems.values() for r in reasons})
        record["tampered_at"] = sorted(problems)
        record["status"] = status_of(record)
        return nb, resources


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


def status_of(record: dict) -> str:
    """The status column, in words."""
    if record.get("answer_missing"):
        return "answer missing"
    stopped = record.get("stopped")
    if stopped:
        return f"{stopped['why']} in {stopped['cell']}"
    if record.get("flagged"):
        return "flagged: " + "; ".join(record["flagged"])
    if (record.get("warnings") or record.get("notes")
            or any(c["warnings"] for c in record.get("checks", []))):
        return "warnings"
    return "ok"
