"""The feedback page: a summary from templates, the notebook as graded, formulas as MathML, offline.

Each page is rendered from an instructor notebook with a made-up verdict record (seconds); the
hidden-test redaction on a submission that prints the hidden code is in test_autograde.py.
"""

import copy
import re

import nbformat
import pytest
from bs4 import BeautifulSoup

from coursegrader import cells, feedback
from coursegrader.sanitize import sanitize
from coursegrader.status import Kind, Status
from tests.support.notebook_cells import load
from tests.support.screenshots import screenshot

LABS = ["sentiment", "nmt", "nmt_luong"]


def graded(assignment: str) -> nbformat.NotebookNode:
    """The instructor notebook with a verdict record: the second check failed, the first printed a
    warning, hidden checks marked hidden (as coursegrader.verdicts writes it)."""
    nb = copy.deepcopy(load(assignment))
    checks = [c for c in nb.cells if cells.is_check(c)]
    nb.metadata["coursekit"] = {
        "checks": [
            {
                "grade_id": cells.grade_id(c),
                "points": float(cells.nbgrader_meta(c).get("points", 0)),
                "passed": i != 1,
                "message": "the weights do not sum to 1" if i == 1 else "Looks right.",
                "hidden": "BEGIN HIDDEN TESTS" in c.source,
                "warnings": ["UserWarning: a small thing\n"] if i == 0 else [],
            }
            for i, c in enumerate(checks)
        ]
    }
    return nb


def render(nb, **kw) -> str:
    args = dict(student="ada", assignment="sentiment", score=14, max_score=20, status=Status(Kind.OK))
    return feedback.render(nb, **{**args, **kw})


def markdown_html(page: str) -> list[str]:
    """The HTML of every markdown cell."""
    return [str(div) for div in BeautifulSoup(page, "html.parser").select("div.jp-RenderedMarkdown")]


def text_outside_math_and_code(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.find_all(["math", "code", "pre"]):
        element.decompose()
    return soup.get_text()


@pytest.fixture(scope="module")
def sentiment_page() -> str:
    return render(graded("sentiment"))


@pytest.mark.parametrize("assignment", LABS)
def test_every_formula_in_the_markdown_becomes_mathml(assignment):
    page = render(graded(assignment), assignment=assignment)
    formulas = sum(len(re.findall(r"(?<!\\)\$", c.source)) for c in load(assignment).cells if c.cell_type == "markdown")
    assert formulas and page.count("<math") >= 10
    leftover = [html[:200] for html in markdown_html(page) if "$" in text_outside_math_and_code(html)]
    assert leftover == []


def test_the_sentiment_score_formula_is_typeset(sentiment_page):
    soup = BeautifulSoup(sentiment_page, "html.parser")
    (formula,) = [m for m in soup.find_all("math", display="block") if "softmax" in m.get_text()]
    assert formula.find("mtext", string="score") and formula.find("msub") and formula.find("munder")
    assert "\\" not in formula.get_text()  # no LaTeX command left as text


def test_dollars_that_are_not_math_stay_text_and_code_is_never_converted():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                "It costs $5 or $10, and \\$20 is escaped; $3,000 and $4,000 are prices.\n"
                "Shell: `echo $HOME $$` and `$NMT_CHECKPOINT_DIR`, but $x^2$ is math.\n\n"
                "`echo $$` prints the shell's PID.\n\n## A heading\n\n$$\ny + 1\n$$\n\n"
                "```bash\nexport PATH=$HOME/bin:$PATH  # $a$\n```\n"
            ),
            nbformat.v4.new_code_cell("price = '$5'  # $y$ stays code"),
        ]
    )
    page = render(nb)
    (html,) = markdown_html(page)
    assert html.count("<math") == 2 and "<msup><mi>x</mi><mn>2</mn></msup>" in html
    assert 'display="block"' in html and "<h2" in html  # the `$$` in code opened no formula
    assert "It costs $5 or $10, and $20 is escaped; $3,000 and $4,000 are prices." in html
    assert "<code>echo $HOME $$</code>" in html and "<code>$NMT_CHECKPOINT_DIR</code>" in html
    assert "# $a$" in html and "$y$ stays code" in page


def test_a_formula_latex2mathml_cannot_read_is_shown_as_its_source():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("A broken one: $\\frac{$.")])
    (html,) = markdown_html(render(nb))
    assert "<code>$\\frac{$</code>" in html and "<math" not in html


def test_a_heading_with_a_formula_keeps_plain_mathml():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("### Then $\\tilde h_t$\n\n## Plain")])
    (html,) = markdown_html(render(nb))
    assert "ns0:" not in html and "<math" in html and 'id="Plain"' in html


def test_text_in_a_formula_is_escaped():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Words $y_0 = \\texttt{<start>}$.")])
    (html,) = markdown_html(render(nb))
    assert "&lt;start&gt;" in html and "<start>" not in html


def test_the_page_loads_nothing_from_the_network(sentiment_page):
    assert not re.search(r"<script[^>]*\bsrc=", sentiment_page)
    assert not re.search(r"<link[^>]*\bhref=[\"']?https?:", sentiment_page)
    assert "mathjax" not in sentiment_page.lower() and "cdnjs" not in sentiment_page
    assert "<style" in sentiment_page  # nbconvert's lab CSS, inlined


def test_summary_lists_every_check_with_points_result_and_message(sentiment_page):
    header = sentiment_page[sentiment_page.index('<header class="ck-summary"') : sentiment_page.index("</header>")]
    nb = graded("sentiment")
    for check in nb.metadata["coursekit"]["checks"]:
        assert f"<code>{check['grade_id']}</code>" in header
    failed = nb.metadata["coursekit"]["checks"][1]
    assert re.search(
        rf"{failed['grade_id']}.*?0 / {failed['points']:g}.*?failed.*?the weights do not sum to 1", header, re.S
    )
    assert "(hidden)" in header and "costs nothing" in header and "UserWarning: a small thing" in header
    assert "14 / 20" in header and "ada" in header


def test_notes_and_warnings_appear_under_the_status():
    page = render(
        graded("sentiment"),
        status=Status(Kind.WARNINGS),
        warnings=["check `x` printed a warning"],
        notes=[
            "graded once for 4 students who handed in the same notebook",
            "not run while grading: the bag-of-words baseline (no check needs it)",
        ],
    )
    header = page[: page.index("</header>")]
    assert "graded once for 4 students who handed in the same notebook" in header
    assert "not run while grading: the bag-of-words baseline" in header
    assert "check `x` printed a warning" in header


def test_manual_grades_appear_in_the_summary_and_next_to_their_answer():
    manual = [
        {"grade_id": "answer_dot_or_general", "points": 2.0, "max_points": 2.0, "comment": "Right, see <row 3>."},
        {"grade_id": "answer_attention_alignment", "points": None, "max_points": 2.0, "comment": None},
    ]
    page = render(graded("nmt_luong"), assignment="nmt_luong", manual=manual)
    header = page[: page.index("</header>")]
    assert re.search(r"answer_dot_or_general.*?2 / 2.*?graded by a TA.*?Right, see &lt;row 3&gt;\.", header, re.S)
    assert re.search(r"answer_attention_alignment.*?– / 2.*?needs manual grade", header, re.S)
    body = page[page.index("</header>") :]
    query_answer = body.index("parameters of difference are exactly")
    note = body.index('id="grade-answer_dot_or_general"')
    assert query_answer < note < body.index("Question 2: what does an attention map show?")
    assert "needs manual grade" in body[body.index('id="grade-answer_attention_alignment"') :]


def test_each_check_is_followed_by_its_result_and_hidden_checks_show_no_code(sentiment_page):
    solution = load("sentiment")
    hidden = next(c for c in solution.cells if "BEGIN HIDDEN TESTS" in c.source)
    body = sentiment_page[sentiment_page.index("</header>") :]
    note = body[body.index(f'id="grade-{cells.grade_id(hidden)}"') :]
    assert "hidden check passed" in note[:400] and "Looks right." in note[:400]
    assert "hidden check: its code is not shown" in body
    assert "HIDDEN TESTS" not in sentiment_page


def test_integrity_cells_stay_out_and_ansi_colours_stay_in():
    nb = graded("sentiment")
    nb.cells.insert(
        3,
        nbformat.v4.new_code_cell(
            "integrity_marker_source()", metadata={"coursekit": {"role": "integrity", "point": "snapshot"}}
        ),
    )
    cell = next(c for c in nb.cells if c.cell_type == "code" and not cells.is_check(c))
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a \x1b[31mred\x1b[0m word\n")]
    page = render(nb)
    assert "integrity_marker_source" not in page
    assert '<span class="ansi-red-fg">red</span>' in page


def test_a_written_answer_with_raw_html_shows_as_typed_and_runs_nothing():
    nb = graded("nmt")
    answer = next(c for c in nb.cells if c.cell_type == "markdown" and cells.is_answer(c))
    answer.source = (
        'Wider beams <img src=x onerror="alert(1)"> help <script>alert(2)</script> **a little**, while $k < n$.'
    )
    page = BeautifulSoup(render(sanitize(nb), assignment="nmt"), "html.parser")
    assert not page.find("script") and not page.find(attrs={"onerror": True})
    assert '<img src=x onerror="alert(1)">' in page.get_text() and page.find("strong", string="a little")
    assert page.find("mo", string="<"), "a formula's < stays a formula"


def test_an_unreadable_notebook_gets_a_page_with_the_summary_only():
    page = render(None, score=0, status=Status(Kind.INVALID_NOTEBOOK, "cut short"))
    assert "invalid notebook: cut short" in page and "0 / 20" in page
    assert 'class="jp-Cell' not in page and "your notebook as it was graded" not in page


def test_screenshot_of_a_feedback_page_is_not_blank(sentiment_page, tmp_path):
    page = tmp_path / "sentiment.html"
    page.write_text(sentiment_page, encoding="utf-8")
    pixels = screenshot(page, tmp_path / "feedback.png")
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05
    summary = pixels[20:500]  # the summary card: text, coloured results, not an empty page
    assert (summary.min(axis=2) < 0.5).mean() > 0.01
    green = (summary[:, :, 1] > 0.4) & (summary[:, :, 0] < 0.3) & (summary[:, :, 2] < 0.4)
    assert green.sum() > 50  # the "passed" marks
