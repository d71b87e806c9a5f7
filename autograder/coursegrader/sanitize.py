"""Make a graded notebook safe to show: what a submission wrote or displayed is read, never run.

Two pages show the graded notebook: the student's feedback page and formgrader, which
renders it inside the TA's own Jupyter server with every HTML output and the markdown
of written answers as they are (nbgrader sanitizes neither). A submission's code can
display any HTML (a pandas table, but also a ``<script>`` that would act with the TA's
login), and a written answer is markdown, which may hold raw HTML. So, before either
page sees the notebook:

* every output keeps only plain text and bitmap images. A richer representation (HTML,
  markdown, LaTeX, SVG, JavaScript, widgets) is dropped when there is a text one beside
  it that says something (a pandas table shows as text), and otherwise shown as its own
  source text (instead of a bare ``<IPython.core.display.HTML object>``);
* in the answers a student wrote in markdown, a ``<`` that would open a tag is escaped, so
  raw HTML shows as the text the student typed (``p < q`` in a formula is left alone).
  Markdown links with a ``javascript:`` target are already disarmed by the markdown renderer.

The released lab's own markdown is the course's, not the student's, and stays as it is.
"""

from __future__ import annotations

import json
import re

from .cells import is_answer

#: output representations shown as they are: text and bitmaps (rendered escaped, or as <img>)
SHOWN = ("text/plain", "image/png", "image/jpeg", "image/gif")
#: a ``<`` that starts an HTML tag, comment or processing instruction (any other ``<`` is text)
TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")
#: Python's default repr, which says nothing about what was displayed
BARE_REPR = re.compile(r"<[\w.]+ object( at 0x[0-9a-f]+)?>")


def sanitize(nb):
    """``nb`` with its outputs and written answers made inert (in place; returned for chaining)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and is_answer(cell):
            cell.source = TAG_OPEN.sub("&lt;", cell.source)
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            shown = {kind: value for kind, value in data.items() if kind in SHOWN}
            rich = [value for kind, value in data.items() if kind not in SHOWN]
            plain = str(shown.get("text/plain", "")).strip()
            if rich and (not plain or BARE_REPR.fullmatch(plain)):
                shown["text/plain"] = rich[0] if isinstance(rich[0], str) else json.dumps(rich[0])
            out["data"] = shown
    return nb
