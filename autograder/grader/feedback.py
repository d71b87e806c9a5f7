"""Feedback HTML a student can read and forward without giving the hidden tests away.

nbgrader's own ``generate_feedback`` renders the autograded notebook, hidden test
source included (nbgrader issue #917). We render it ourselves instead:

* a summary at the top: score, status, every warning, and per check its name,
  points earned / possible, passed or failed, and the assertion message;
* the notebook as graded (the released lab with the student's answer), where a
  hidden check shows only its "Check that ..." docstring and its result: no
  source, no traceback, no output;
* the cells the autograder adds for its integrity checks are left out;
* last, every line of hidden-test source that is long enough to be specific is
  redacted wherever it still appears (for example printed by the submission).
"""
from __future__ import annotations

import copy
import html
import re

import nbformat

from .cells import META, grade_id, is_check

REDACTED = "[hidden test code]"


def _docstring(source: str) -> str:
    match = re.match(r'\s*("""|\'\'\')(.*?)\1', source, re.S)
    return match.group(0).strip() if match else ""


def hidden_lines(nb) -> list[str]:
    """Specific lines of every hidden check's code (for redaction)."""
    lines = set()
    for cell in nb.cells:
        if is_check(cell) and "BEGIN HIDDEN TESTS" in cell.source:
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


def _summary_html(student, assignment, score, max_score, status, warnings, checks) -> str:
    rows = []
    for c in checks:
        mark = "passed" if c["passed"] else "failed"
        earned = c["points"] if c["passed"] else 0
        message = html.escape(c.get("message", ""))
        if c.get("warnings"):
            message += ("<br><small>warning printed (costs nothing): "
                        + html.escape(" ".join(w.strip() for w in c["warnings"])[:400]) + "</small>")
        rows.append(f"<tr><td><code>{html.escape(c['grade_id'])}</code>{' (hidden)' if c.get('hidden') else ''}"
                    f"</td><td>{earned:g} / {c['points']:g}</td><td class='{mark}'>{mark}</td>"
                    f"<td>{message}</td></tr>")
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    score_text = "-" if score is None else f"{score:g} / {max_score:g}"
    return (
        "<div class='coursekit-summary'>"
        "<style>.coursekit-summary td,.coursekit-summary th{padding:4px 10px;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}.coursekit-summary .passed{color:#11763b;font-weight:bold}"
        ".coursekit-summary .failed{color:#b00020;font-weight:bold}</style>"
        f"<h1>Feedback: {html.escape(assignment)}</h1>"
        f"<p><b>Student:</b> {html.escape(student)} &nbsp; <b>Score:</b> {score_text} &nbsp; "
        f"<b>Status:</b> {html.escape(status)}</p>"
        + (f"<p><b>Notes</b></p><ul>{items}</ul>" if items else "")
        + ("<table><tr><th>check</th><th>points</th><th>result</th><th>message</th></tr>"
           + "".join(rows) + "</table>" if rows else "")
        + "<p>Below: your notebook as it was graded (the released lab with your answer cells). "
          "Hidden checks show only what they check and their result.</p></div>")


def render(nb, *, student: str, assignment: str, score, max_score, status: str,
           warnings=(), redact_lines: list[str] | None = None) -> str:
    """The feedback page of one graded notebook (``nb`` may be ``None`` for an unreadable one)."""
    from nbconvert import HTMLExporter

    record = nb.metadata.get(META, {}) if nb is not None else {}
    lines = hidden_lines(nb) if nb is not None else []
    lines += list(redact_lines or [])
    page = nbformat.v4.new_notebook()
    summary = _summary_html(student, assignment, score, max_score, status, warnings,
                            record.get("checks", []))
    page.cells.append(nbformat.v4.new_markdown_cell(summary))
    results = {c["grade_id"]: c for c in record.get("checks", [])}
    for cell in (nb.cells if nb is not None else []):
        if cell.metadata.get(META, {}).get("role") == "integrity":
            continue
        hidden = cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source
        result = results.get(grade_id(cell), {})
        cell = copy.deepcopy(cell)
        cell.metadata = {}
        if hidden:
            cell.source = _docstring(cell.source) + "\n# (hidden check: its code is not shown)"
            text = "passed" if result.get("passed") else "failed: " + result.get("message", "")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
        page.cells.append(cell)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(page)
    body = redact(body, lines)
    if "HIDDEN TESTS" in body:
        raise RuntimeError("feedback would reveal hidden test markers")
    return body

