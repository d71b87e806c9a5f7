"""Feedback HTML a student can read offline and forward without giving the hidden tests away.

nbgrader's own ``generate_feedback`` renders the autograded notebook, hidden test
source included (nbgrader issue #917). We render it ourselves instead, with nbconvert's
HTMLExporter and the template directory ``templates/feedback`` (it extends nbconvert's
``lab`` template):

* a summary at the top (``summary.html.j2``): score, status, notes, warnings, and per
  graded item its name, points earned / possible, result and message: the autograder's
  checks and the answers graded by hand (``manual``);
* the notebook as graded (the released lab with the student's answer), each check
  followed by its result, each answer graded by hand by its grade and the TA's comment;
  a hidden check shows only its "Check that ..." docstring and its result: no source,
  no traceback, no output;
* the cells the autograder adds for its integrity checks are left out;
* formulas in markdown become MathML (:func:`coursekit.mathml.latex_to_mathml`), so the
  page loads no MathJax and no other script from the network;
* last, every line of hidden-test source that is long enough to be specific is
  redacted wherever it still appears (for example printed by the submission).

This module only prepares plain data (the page's notebook, the summary's rows); all
markup comes from the templates.
"""

from __future__ import annotations

import copy
import functools
import html
import json
import re
from pathlib import Path
from typing import ClassVar

import nbformat
from jinja2 import pass_context
from mistune import HTMLRenderer
from nbconvert import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath, MathBlockParser, MathInlineParser
from nbconvert.filters.strings import clean_html

from coursekit.mathml import latex_to_mathml

from .cells import META, grade_id, is_check, is_hidden
from .status import Kind, Status
from .text import shorten

REDACTED = "[hidden test code]"
TEMPLATES = Path(__file__).parent / "templates"
HIDDEN_NOTE = "# (hidden check: its code is not shown)"


def _docstring(source: str) -> str:
    match = re.match(r'\s*("""|\'\'\')(.*?)\1', source, re.S)
    return match.group(0).strip() if match else ""


def hidden_lines(nb) -> list[str]:
    """Specific lines of every hidden check's code (for redaction)."""
    lines = set()
    for cell in nb.cells:
        if is_check(cell) and is_hidden(cell):
            doc = _docstring(cell.source)
            for line in cell.source.replace(doc, "").splitlines():
                line = line.strip()
                if len(line) >= 16 or "HIDDEN TESTS" in line:
                    lines.add(line)
    return sorted(lines, key=len, reverse=True)


def redact(text: str, lines: list[str]) -> str:
    for line in lines:
        for form in {line, html.escape(line), html.escape(line, quote=False)}:
            text = text.replace(form, REDACTED)
    return text


# ---------------------------------------------------------------- math in markdown, as MathML


class _BlockParser(MathBlockParser):
    """nbconvert's block parser, with display math (``$$``) starting a line only. mistune looks for
    block rules anywhere in a paragraph that starts with punctuation, so a ``$$`` in a code span
    there (a shell's PID) would open a formula that swallows the headings and lists after it."""

    SPECIFICATION: ClassVar[dict] = {
        **MathBlockParser.SPECIFICATION,
        "multiline_math": MathBlockParser.SPECIFICATION["multiline_math"].replace(
            r"(?<!\\)[$]{2}", r"^ {0,3}[$]{2}", 1
        ),
    }


class _InlineParser(MathInlineParser):
    """nbconvert's inline parser, with pandoc's rule for ``$...$``: the opening ``$`` is followed
    by a non-space, the closing one follows a non-space and is not followed by a digit, and the
    formula holds no unescaped ``$``. So "$5 and $10" and "$HOME or $PATH" stay text."""

    SPECIFICATION: ClassVar[dict] = {
        **MathInlineParser.SPECIFICATION,
        "inline_math_tex": r"(?<![$\\])\$(?=[^\s$])"
        r"(?P<math_inline_tex>(?:[^$\\]|\\.)+?)(?<=[^\s\\])\$(?![$\d])",
    }


class _MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with formulas typeset as MathML instead of left for MathJax.
    A formula latex2mathml cannot read is shown as its source, in a code span."""

    def _math(self, latex: str, display: bool, shown: str) -> str:
        try:
            return str(latex_to_mathml(latex, display=display))
        except Exception:  # noqa: BLE001 - latex2mathml raises many kinds of errors on bad LaTeX
            return self.codespan(shown)

    def heading(self, text: str, level: int, **attrs) -> str:
        # nbconvert adds the heading's anchor by re-serialising it with ElementTree, which renames
        # namespaced MathML elements "ns0:math": a heading with a formula goes without its anchor.
        if "<math" in text:
            return HTMLRenderer.heading(self, text, level, **attrs)
        return super().heading(text, level, **attrs)

    def inline_math(self, body: str) -> str:
        return self._math(body, False, f"${body}$")

    def block_math(self, body: str) -> str:
        return self._math(body, True, f"$${body}$$")

    def latex_environment(self, name: str, body: str) -> str:
        source = f"\\begin{{{name}}}{body}\\end{{{name}}}"
        return self._math(source, True, source)


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter with the feedback templates and markdown math as MathML.

    Every student of a class gets a page of the same locked cells (every student sharing a run,
    of the same outputs too), so the two costly steps per cell, highlighting code and sanitizing
    HTML, are kept by their exact input for the process: the same input, the same bytes out."""

    def __init__(self, **kw):
        super().__init__(template_name="feedback", extra_template_basedirs=[str(TEMPLATES)], theme="light", **kw)

    def from_notebook_node(self, nb, resources=None, **kw):
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name", None))  # as nbconvert chooses it
        self.filters = {**self.filters, "highlight_code": functools.partial(_highlight, lexer)}
        return super().from_notebook_node(nb, resources, **kw)

    def default_filters(self):
        for name, function in super().default_filters():
            yield name, _clean_html if name == "clean_html" else function

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        renderer = _MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer, block=_BlockParser(), inline=_InlineParser(hard_wrap=False)).render(
            source
        )


@functools.lru_cache(maxsize=8192)
def _clean_html(element):
    return clean_html(element)


@functools.lru_cache(maxsize=8192)
def _highlight_cached(lexer, source: str, language, metadata: str) -> str:
    return Highlight2HTML(pygments_lexer=lexer)(source, language, json.loads(metadata))


def _highlight(lexer, source, language=None, metadata=None):
    """Code highlighted as nbconvert highlights it, kept by input."""
    return _highlight_cached(lexer, source, language, json.dumps(metadata, sort_keys=True, default=str))


# ---------------------------------------------------------------- the page's data


def _num(x) -> str:
    return "–" if x is None else f"{float(x):g}"


def check_row(check: dict) -> dict:
    """One check of the verdicts' record as the summary and the notebook show it."""
    passed = bool(check.get("passed"))
    return {
        "grade_id": check["grade_id"],
        "hidden": bool(check.get("hidden")),
        "points": f"{_num(check['points'] if passed else 0)} / {_num(check['points'])}",
        "state": "passed" if passed else "failed",
        "result": "passed" if passed else "failed",
        "message": check.get("message", ""),
        "warnings": shorten(" ".join(w.strip() for w in check.get("warnings") or []), 400),
    }


def manual_row(item: dict) -> dict:
    """One answer graded by hand: ``{"grade_id", "points" (None: not graded yet), "max_points", "comment"}``."""
    graded = item.get("points") is not None
    return {
        "grade_id": item["grade_id"],
        "hidden": False,
        "points": f"{_num(item.get('points'))} / {_num(item.get('max_points'))}",
        "state": "manual" if graded else "pending",
        "result": "graded by a TA" if graded else "needs manual grade",
        "message": item.get("comment") or "",
        "warnings": "",
    }


def page_notebook(nb, rows: dict[str, dict]):
    """The notebook the page shows: no integrity cells, hidden checks reduced to their docstring,
    and a ``feedback`` entry in the metadata of every graded cell (its row of ``rows``, by grade_id,
    for the templates)."""
    page = nbformat.v4.new_notebook()
    if nb is None:
        return page
    if nb.metadata.get("language_info"):  # the lexer of the code cells
        page.metadata["language_info"] = copy.deepcopy(nb.metadata["language_info"])
    for cell in nb.cells:
        if cell.metadata.get(META, {}).get("role") == "integrity":
            continue
        row = rows.get(grade_id(cell))
        cell = copy.deepcopy(cell)
        cell.metadata = {}
        if is_hidden(cell):
            cell.source = (_docstring(cell.source) + "\n" + HIDDEN_NOTE).strip()
            cell.outputs = []
            row = row or {
                "grade_id": "",
                "hidden": True,
                "points": "",
                "state": "failed",
                "result": "not graded",
                "message": "",
                "warnings": "",
            }
        if row:
            cell.metadata["feedback"] = row
        page.cells.append(cell)
    return page


def summary(*, student, assignment, score, max_score, status, warnings, notes, rows, has_notebook, late="") -> dict:
    return {
        "late": late,
        "student": student,
        "assignment": assignment,
        "has_notebook": has_notebook,
        "score": "–" if score is None else f"{_num(score)} / {_num(max_score)}",
        "status": str(status),
        "status_ok": status.kind is Kind.OK,
        "notes": [str(n) for n in notes],
        "warnings": [str(w) for w in warnings],
        "rows": rows,
    }


def render(
    nb,
    *,
    student: str,
    assignment: str,
    score,
    max_score,
    status: Status,
    warnings=(),
    redact_lines: list[str] | None = None,
    notes=(),
    manual=(),
    late: str = "",
) -> str:
    """The feedback page of one graded notebook (``nb`` may be ``None`` for an unreadable one).

    ``notes``: sentences shown under the status; ``manual``: the answers graded by hand, as
    ``{"grade_id", "points" (None: not graded yet), "max_points", "comment"}``; ``late``: when it
    was handed in against its due date and extension, and what that cost (:mod:`coursegrader.settle`).
    """
    record = nb.metadata.get(META, {}) if nb is not None else {}
    checks, manual = list(record.get("checks", [])), list(manual)
    lines = (hidden_lines(nb) if nb is not None else []) + list(redact_lines or [])
    rows = [check_row(c) for c in checks] + [manual_row(m) for m in manual]
    page = page_notebook(nb, {r["grade_id"]: r for r in rows})
    resources = {
        "metadata": {"name": f"{assignment} – feedback for {student}"},
        "feedback": summary(
            student=student,
            assignment=assignment,
            score=score,
            max_score=max_score,
            status=status,
            warnings=warnings,
            notes=notes,
            rows=rows,
            has_notebook=nb is not None,
            late=late,
        ),
    }
    body, _ = FeedbackExporter().from_notebook_node(page, resources=resources)
    body = redact(body, lines)
    if "HIDDEN TESTS" in body:
        raise RuntimeError("feedback would reveal hidden test markers")
    return body
