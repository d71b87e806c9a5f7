"""Grade the answer, not the notebook (nbgrader sanitize step, first).

:class:`RebuildFromRelease`: the graded notebook is the *released* lab with the
student's answer cells put in, matched by nbgrader ``grade_id``. Whatever else
the student changed (edited, deleted, added, re-typed or re-ordered cells, the
notebook's metadata) is ignored and listed as a warning.
"""

from __future__ import annotations

import ast
import copy
import secrets
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from .cells import META, grade_id, is_answer, is_check, is_locked
from .course import LABS


def rebuild(submitted, released) -> tuple[NotebookNode, list[str], list[str]]:
    """The released notebook with the submitted answer cells put in.

    Returns ``(notebook, warnings, missing)``: ``warnings`` lists, in words, every
    change outside the answers and the editable cells that was ignored; ``missing``
    the grade_ids of answer cells the submission does not have.
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
                warnings.append(
                    f"answer cell `{gid}` was changed to a {theirs[0].get('cell_type')} cell; "
                    f"its text was graded as {cell.cell_type}"
                )
            cell.source = _text(theirs[0].get("source", ""))
            continue
        if gid is None or not is_locked(cell):
            continue  # an editable cell (a scratch cell) is the student's to change: the released one runs
        if not theirs:
            warnings.append(f"cell `{gid}` was deleted (the released cell was used)")
        elif _text(theirs[0].get("source", "")) != cell.source or theirs[0].get("cell_type") != cell.cell_type:
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
    first = next((i for i, c in enumerate(nb.cells) if is_answer(c) and c.cell_type == "code"), None)
    if first is None:
        return  # a worked lab (its answers, if any, are written text): no student code runs
    later = nb.cells[first:]
    rebound = set().union(*(names_bound(c.source) for c in later if c.cell_type == "code"))
    used = set().union(*(names_used(c.source) for c in later if is_check(c)))
    # names the checks read that exist before the answer and that no later cell rebinds
    guarded = sorted(n for n in used if n.split(".")[0] not in rebound)
    snapshot = _integrity_cell(
        f'__import__("coursekit.integrity", fromlist=["snapshot"]).snapshot(globals(), {guarded!r}, {nonce!r})',
        "snapshot",
    )
    cells = [*nb.cells[:first], snapshot]
    for cell in nb.cells[first:]:
        cells.append(cell)
        if is_check(cell):
            cells.append(
                _integrity_cell(
                    f'__import__("coursekit.integrity", fromlist=["verify"]).verify(globals(), {grade_id(cell)!r})',
                    grade_id(cell),
                )
            )
    cells.append(
        _integrity_cell('__import__("coursekit.integrity", fromlist=["verify"]).verify(globals(), "end")', "end")
    )
    nb.cells = cells


class RebuildFromRelease(NbGraderPreprocessor):
    """Grade the answer, not the notebook: rebuild it from the released lab (sanitize step)."""

    release_root = Unicode(str(LABS), help="folder holding <assignment>/<notebook>.ipynb as released to students").tag(
        config=True
    )

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
            "answer_missing": missing,
            "nonce": nonce,
        }
        return rebuilt, resources
