"""Verdicts, computed here in the grader from the evidence the kernel handed out.

:class:`ComputeVerdicts` runs after execution and before nbgrader's
``SaveAutoGrades``. For every graded cell it takes the one evidence record the
cell's probe published (:mod:`coursekit.checks.evidence`), checks that it answers
this grading's request (grade_id, nonce), decodes it as plain data, and runs the
check's verdict with the truth the grader holds (test labels, reference
translations), which the kernel never saw. The cell passes exactly when the
verdict says so: nothing the kernel prints, raises or reports decides it.

What a failed check says is trusted text: the verdict's own message. For a hidden
check it never includes text from the kernel; an exception raised by the
submission's code is named by its type only.

Integrity reports (:mod:`coursegrader.tamper`), evidence found outside its cell,
duplicated evidence and answers that carry data (:mod:`coursegrader.smuggling`) flag the
submission for a person's review; they cost no points.
"""

from __future__ import annotations

import builtins
import functools
import json

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from coursekit import data
from coursekit.checks import CheckFailed, evidence
from coursekit.checks.base import reason

from .cells import META, grade_id, is_answer, is_check, nbgrader_meta
from .execute import cell_label
from .requests import find_check
from .smuggling import smuggled_data
from .status import Kind, Status
from .status import stopped as stopped_status
from .tamper import integrity_problems, stdout_text
from .text import first_line
from .timing import phase


def error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


#: TensorFlow's own error classes (``tf.errors``), named in hidden checks' messages like builtins
TENSORFLOW_ERRORS = frozenset(
    (
        "OpError",
        "AbortedError",
        "AlreadyExistsError",
        "CancelledError",
        "DataLossError",
        "DeadlineExceededError",
        "FailedPreconditionError",
        "InternalError",
        "InvalidArgumentError",
        "NotFoundError",
        "OutOfRangeError",
        "PermissionDeniedError",
        "ResourceExhaustedError",
        "UnauthenticatedError",
        "UnavailableError",
        "UnimplementedError",
        "UnknownError",
    )
)


def error_type(name) -> str:
    """An exception's type for a hidden check's message: Python's and TensorFlow's own names only
    (a class of the submission's own could be named anything)."""
    name = str(name)
    known = isinstance(getattr(builtins, name, None), type) or name in TENSORFLOW_ERRORS
    return name if known else "an exception of its own class"


@functools.lru_cache(maxsize=8)
def _truth(assignment: str, gid: str, request_json: str) -> dict:
    check, _ = find_check(assignment, gid)
    return check.truth(evidence.decode(json.loads(request_json)), data.DATA_DIR) if check.truth else {}


def truth_for(assignment: str, gid: str, request: dict) -> dict:
    """What ``gid``'s verdict scores against, from the bundle's own data (never the kernel's copy)."""
    return _truth(assignment, gid, json.dumps(evidence.encode(request), sort_keys=True))


def evidence_records(cell) -> tuple[list, list]:
    """(the evidence records in a cell's outputs, the other outputs)."""
    found, rest = [], []
    for out in cell.get("outputs", []):
        if out.get("output_type") in ("display_data", "execute_result") and evidence.MIME in out.get("data", {}):
            found.append(out["data"][evidence.MIME])
        else:
            rest.append(out)
    return found, rest


def judge(
    assignment: str, gid: str, hidden: bool, request: dict, records: list, nonce: str, cell_error: dict | None
) -> tuple[bool, str, list[str]]:
    """``(passed, message, flags)`` of one check from the evidence records its cell published."""
    mine = [r for r in records if isinstance(r, dict) and r.get("grade_id") == gid and r.get("nonce") == nonce]
    if len(records) != len(mine) or len(mine) > 1:
        return (
            False,
            "the check cell handed out more than one evidence record",
            [f"evidence for `{gid}` was handed out more than once or with a foreign nonce"],
        )
    if not mine:
        if cell_error:
            ename = cell_error.get("ename")
            what = error_type(ename) if hidden else f"{ename}: {first_line(str(cell_error.get('evalue', '')))}"
            return False, f"the check cell stopped before it could gather its evidence ({what})", []
        return False, "the check cell handed out no evidence", [f"no evidence for `{gid}`"]
    try:
        gathered = evidence.decode(mine[0].get("evidence"))
    except evidence.MalformedEvidence as err:
        return False, f"the evidence handed out was malformed ({err})", [f"malformed evidence for `{gid}`"]
    if hidden and isinstance(gathered, dict) and isinstance(gathered.get("raised"), dict):
        return False, f"your code raised {error_type(gathered['raised'].get('type'))} while a hidden check ran", []
    if hidden and isinstance(gathered, dict) and gathered.get("stage") == "returned":  # names a type of theirs
        return False, "your layer did not return a pair (context, weights) while a hidden check ran", []
    check, _ = find_check(assignment, gid)
    try:
        return True, check.verdict(request, gathered, truth_for(assignment, gid, request)), []
    except CheckFailed as failed:
        return False, str(failed), []
    except Exception as err:  # noqa: BLE001 - evidence the verdict could not make sense of
        return (
            False,
            f"the evidence could not be judged ({type(err).__name__})",
            [f"evidence for `{gid}` that its verdict could not read"],
        )


class ComputeVerdicts(NbGraderPreprocessor):
    """Every graded cell's verdict from its evidence (runs after GradeExecute, before SaveAutoGrades)."""

    def preprocess(self, nb, resources):
        with phase(nb.metadata.setdefault(META, {}), "verdicts"):
            return self._judge_all(nb, resources)

    def _judge_all(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        record = nb.metadata.setdefault(META, {})
        requests = evidence.decode(record.pop("requests", {}) or {})
        nonce = record.pop("evidence_nonce", "")
        problems = integrity_problems(nb)
        checks, notes, errors, flags = [], [], [], []
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get(META, {})
            if meta.get("role") == "integrity" or cell.cell_type != "code":
                continue
            records, others = evidence_records(cell)
            cell.outputs = others
            if not is_check(cell):
                if records:
                    flags.append(f"evidence handed out outside its check, in {cell_label(cell, index)}")
                if not is_answer(cell):
                    errors += first_locked_error(cell, index, errors)
                    notes += [line for line in stdout_text(cell).splitlines() if line.startswith("Worked around:")]
                continue
            gid = grade_id(cell)
            _, hidden = find_check(assignment, gid)
            warned = show_stderr_and_results(cell)
            cell_error = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
            passed, ename, message, raised = _verdict(
                assignment, gid, hidden, meta.get("ran"), record, requests.get(gid, {}), records, nonce, cell_error
            )
            flags += raised
            _show_verdict(cell, passed, ename, message)
            checks.append(
                {
                    "grade_id": gid,
                    "points": float(nbgrader_meta(cell).get("points", 0)),
                    "passed": passed,
                    "message": message,
                    "hidden": hidden,
                    "warnings": warned,
                }
            )
        record["checks"] = checks
        record["notes"] = notes
        record["errors"] = errors
        flags += smuggled_data(nb)  # a table of answers pasted in: no sandbox can stop it, a person can
        reasons = sorted({r for found in problems.values() for r in found} | set(flags))
        record["flagged"] = reasons
        record["tampered_at"] = sorted(problems)
        record["status"] = str(status_of(record))  # for a person reading the notebook's metadata
        return nb, resources


def first_locked_error(cell, index: int, errors: list) -> list[str]:
    """The first failing locked cell, in words (only the first one is reported)."""
    if errors:
        return []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            why = reason(out.get("evalue", ""))
            error = f"{out.get('ename')}: {why}" if why else out.get("ename")
            return [f"the first locked cell that failed is `{cell_label(cell, index)}`: {error}"]
    return []


def show_stderr_and_results(cell) -> list[str]:
    """Turn stderr and return values of a check cell into plain display outputs (they cost nothing,
    nbgrader alone would give 0 for stderr); return the stderr texts."""
    warned, outputs = [], []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            warned.append(out.get("text", ""))
            out = nbformat.v4.new_output(
                "display_data", data={"text/plain": out.get("text", "")}, metadata={META: {"stderr": True}}
            )
        elif out.get("output_type") == "execute_result":
            out = nbformat.v4.new_output("display_data", data=out.get("data", {}), metadata=out.get("metadata", {}))
        outputs.append(out)
    cell.outputs = outputs
    return warned


def status_of(record: dict) -> Status:
    """The status of a graded notebook from its autograder record."""
    if record.get("answer_missing"):
        return Status(Kind.ANSWER_MISSING)
    stopped = record.get("stopped")
    if stopped:
        return stopped_status(stopped["why"], stopped["cell"])
    if record.get("flagged"):
        return Status(Kind.FLAGGED, "; ".join(record["flagged"]))
    if record.get("warnings") or record.get("notes") or any(c["warnings"] for c in record.get("checks", [])):
        return Status(Kind.WARNINGS)
    return Status(Kind.OK)


def _verdict(assignment, gid, hidden, ran, record, request, records, nonce, cell_error):
    """One check cell's verdict: (passed, error name, message, flags raised). A check that did not
    run, timed out or passed a limit fails with the reason the kernel recorded, never a judge's."""
    stopped, missing = record.get("stopped"), record.get("answer_missing")
    if missing:
        return False, "AnswerMissing", f"the answer cell(s) {', '.join(missing)} are not in the submitted notebook", []
    if ran is None:
        where = stopped["cell"] if stopped else "an earlier cell"
        message = f"this check did not run: the notebook {stopped['why'] if stopped else 'stopped'} in {where}"
        return False, "NotRun", message, []
    if ran == "timed out":
        return False, "CellTimeoutError", stopped["detail"], []
    if ran == "stopped":  # a limit passed in this check cell (coursegrader.limits)
        return False, "LimitExceeded", stopped["detail"], []
    passed, message, raised = judge(assignment, gid, hidden, request, records, nonce, cell_error)
    return passed, "CheckFailed", message, raised


def _show_verdict(cell, passed: bool, ename: str, message: str) -> None:
    """The verdict replaces the cell's error: a passed check prints its message, a failed one raises it."""
    cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
    if passed:
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=message + "\n"))
    else:
        cell.outputs.append(error_output(ename, message))
