"""The class report (coursegrader.classreport) and answer comparison (coursegrader.similarity), on a synthetic class."""

import re
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import nbformat
import pytest

from coursegrader import similarity
from coursegrader.cells import solution_cell, student_version
from coursegrader.classreport import class_report_context, read_run, write_class_report
from coursegrader.course import LABS, SOLUTIONS
from coursegrader.demo.answers import GENERAL_SCORE_WITHOUT_MASK, HONEST_VARIANTS
from coursegrader.demo.hostile import ENDLESS_LOOP, WARNS_BUT_CORRECT
from coursegrader.results import Result
from coursegrader.status import Kind, Status
from tests.support.screenshots import screenshot

REFERENCE = student_version(solution_cell(nbformat.read(SOLUTIONS / "sentiment" / "sentiment.ipynb", 4)).source)
STUB = solution_cell(nbformat.read(LABS / "sentiment" / "sentiment.ipynb", 4)).source
DOT = HONEST_VARIANTS["sentiment"]["dot-product"]
CRASHES = HONEST_VARIANTS["sentiment"]["crashes"]

# The reference solution copied: every name changed, comments rewritten, a constant changed, a blank line added.
RENAMED_COPY = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        # projection applied to the encoder outputs (no bias needed)
        self.proj = keras.layers.Dense(units, use_bias=False, name="proj")

    def call(self, query, values, mask=None):
        k = self.proj(values)
        # general score between the decoder state and every encoder state
        logits = tf.einsum("bu,btu->bt", query, k)
        if mask is not None:
            logits = tf.where(tf.cast(mask, tf.bool), logits, tf.constant(-1e10, logits.dtype))

        alpha = tf.nn.softmax(logits, axis=1)[:, :, tf.newaxis]
        ctx = tf.reduce_sum(alpha * values, axis=1)
        return ctx, alpha
"""
# A correct layer written independently of the reference: matmul instead of einsum, an additive mask.
INDEPENDENT = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.score_dense = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values, mask=None):
        projected = self.score_dense(values)                 # (batch, max_len, units)
        q = tf.expand_dims(query, axis=-1)                   # (batch, units, 1)
        score = tf.squeeze(tf.matmul(projected, q), axis=-1) # (batch, max_len)
        if mask is not None:
            score += (1.0 - tf.cast(mask, score.dtype)) * -1e9
        alpha = tf.nn.softmax(score, axis=-1)
        context = tf.matmul(alpha[:, tf.newaxis, :], values)[:, 0, :]
        return context, tf.expand_dims(alpha, -1)
"""
MATVEC = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values, mask=None):
        scores = tf.linalg.matvec(self.W(values), query)
        if mask is not None:
            scores = scores - 1e9 * (1.0 - tf.cast(mask, scores.dtype))
        w = tf.nn.softmax(scores)
        return tf.linalg.matvec(values, w, transpose_a=True), w[..., None]
"""

SENTIMENT_CHECKS = [
    ("luong_output_shapes_and_dtypes", 2, False),
    ("luong_weights_sum_to_one", 2, False),
    ("luong_padding_gets_zero_weight", 2, False),
    ("luong_matches_general_score", 4, True),
    ("test_accuracy_at_least_0_80", 6, False),
    ("top10_words_are_most_attended", 4, False),
]
NMT_CHECKS = [
    ("encoder_output_and_state_shapes", 1, False),
    ("attention_weights_sum_to_one", 2, False),
    ("decoder_logits_shape", 1, False),
    ("greedy_equals_beam_width_one", 2, False),
    ("translate_returns_clean_text", 2, False),
    ("bleu_above_floor", 4, False),
]
FAILS = {
    "all": set(),
    "dot": {"luong_matches_general_score"},
    "no-mask": {"luong_padding_gets_zero_weight"},
    "low-accuracy": {"test_accuracy_at_least_0_80"},
    "bleu": {"bleu_above_floor"},
    "none": {c for c, _, _ in SENTIMENT_CHECKS},
}

# student: (answer, checks failed, status, flagged, seconds, students sharing the graded run)
SENTIMENT = {
    "ada": (REFERENCE, "all", "ok", False, 96, 1),
    "ben": (RENAMED_COPY, "all", "ok", False, 101, 1),
    "cleo": (DOT, "dot", "ok", False, 88, 2),
    "dan": (DOT, "dot", "ok", False, 88, 2),
    "eve": (INDEPENDENT, "all", "warnings", False, 112, 1),
    "fay": (STUB, "none", "ok", False, 35, 1),
    "gus": (STUB + "\n\n# I ran out of time\n", "none", "ok", False, 35, 1),
    "hana": (GENERAL_SCORE_WITHOUT_MASK, "no-mask", "warnings", False, 93, 1),
    "ivan": (CRASHES, "none", "ok", False, 41, 1),
    "jo": (ENDLESS_LOOP, "none", "timed out in luong_output_shapes_and_dtypes", False, 300, 1),
    "kim": (WARNS_BUT_CORRECT, "low-accuracy", "warnings", False, 104, 1),
    "lev": (MATVEC, "all", "flagged: replaced", True, 99, 1),
    "mia": (None, "none", "no notebook", True, 0, 1),
    "noor": (
        RENAMED_COPY.replace("return ctx, alpha", "return (ctx, alpha"),
        "none",
        "kernel died in luong_attention",
        False,
        12,
        1,
    ),  # a syntax error: still compared
}


def check_records(names, failed):
    return [
        {
            "grade_id": gid,
            "points": float(points),
            "hidden": hidden,
            "passed": gid not in failed,
            "message": "passed"
            if gid not in failed
            else ("NotImplementedError: " if failed == FAILS["none"] else "") + f"{gid.replace('_', ' ')} failed",
        }
        for gid, points, hidden in names
    ]


def synthetic_class():
    """Rows and side data of a grading run: 14 students, three assignments, one stray folder."""
    rows, answers, checks, shared = [], {}, {}, {}
    for student, (answer, fails, status, flagged, seconds, share) in SENTIMENT.items():
        failed = FAILS[fails]
        records = [] if status == "no notebook" else check_records(SENTIMENT_CHECKS, failed)
        score = sum(c["points"] for c in records if c["passed"])
        rows.append(
            Result(
                student,
                "sentiment",
                score,
                20.0,
                seconds,
                Status.parse(status),
                flagged=flagged,
                warnings=["the notebook printed a warning"] if status == "warnings" else [],
            )
        )
        answers[student, "sentiment"] = answer
        checks[student, "sentiment"] = records
        shared[student, "sentiment"] = share
    for i, student in enumerate(SENTIMENT):
        for lab in ("nmt", "nmt_luong"):
            failed = FAILS["bleu"] if i % 3 == 0 else FAILS["all"]
            records = check_records(NMT_CHECKS, failed)
            status = "grader error: nbgrader exit 1 (see grading.log)" if (lab, i) == ("nmt", 5) else "ok"
            rows.append(
                Result(
                    student,
                    lab,
                    sum(c["points"] for c in records if c["passed"]),
                    12.0,
                    480.0 + 17 * i,
                    Status.parse(status),
                    flagged=status != "ok",
                    reused=i in (2, 3),
                )
            )
            checks[student, lab] = records
            shared[student, lab] = 3 if i in (7, 8, 9) else 1
    rows.append(
        Result(
            "zed", "-", None, None, 0.0, Status(Kind.NO_ASSIGNMENT_FOLDER, "(expected sentiment, nmt)"), flagged=True
        )
    )
    stubs = {"sentiment": STUB}
    return rows, dict(
        profiles={"sentiment": "cpu", "nmt": "cpu", "nmt_luong": "cpu"},
        answers=answers,
        stubs=stubs,
        checks=checks,
        shared=shared,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class-report")
    rows, data = synthetic_class()
    page = folder / "feedback" / "ada" / "sentiment" / "sentiment.html"
    page.parent.mkdir(parents=True)
    page.write_text("<p>feedback</p>", encoding="utf-8")
    path = write_class_report(folder / "class-report.html", rows, **data)
    context = class_report_context(rows, base=folder, **data)
    return path, path.read_text(encoding="utf-8"), context


def section(text: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', text, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def sentiment(context) -> dict:
    return next(a for a in context["assignments"] if a["name"] == "sentiment")


def cluster_of(context, name):
    found = [
        c
        for c in sentiment(context)["answers"]["clusters"]
        if any(s["name"] == name for g in c["groups"] for s in g["students"])
    ]
    return found[0] if found else None


def names(cluster) -> set[str]:
    return {s["name"] for g in cluster["groups"] for s in g["students"]}


def test_every_section_is_present(report):
    path, text, _ = report
    assert path.name == "class-report.html" and text.startswith("<!DOCTYPE html>")
    for name in ("scores", "checks", "statuses", "answers", "time"):
        assert section(text, name).strip()
    assert "Class report" in text and "make grade" in text
    header = text.split("<nav>")[0]
    assert re.search(r"<b>15</b><span>students", header) and re.search(r"<b>42</b><span>submissions", header)
    for lab in ("sentiment", "nmt", "nmt_luong"):
        assert f"<b>{lab}</b> · profile cpu" in header
    scores = section(text, "scores")
    assert scores.count("<svg") == 3 and "score (points)" in scores and "mean" in scores and "full marks" in scores
    assert "A reason to look, not a verdict" in section(text, "answers")
    assert "<svg" in section(text, "time") and "seconds per submission" in section(text, "time")


def test_score_summary_counts_full_marks_and_zeros(report):
    _, _, context = report
    scores = sentiment(context)["scores"]
    assert scores["max_score"] == 20 and scores["count"] == 14
    assert scores["full"] == 4  # ada, ben, eve, lev
    assert scores["zero"] == 6  # two stubs, crashes, endless loop, no notebook, the broken copy
    assert sum(b["count"] for b in scores["histogram"]["bars"]) == 14


def test_checks_the_class_fails_most_come_first_and_hidden_ones_are_marked(report):
    _, text, context = report
    checks = sentiment(context)["checks"]
    rates = [c["rate"] for c in checks]
    assert rates == sorted(rates)
    general = checks[0]  # failed by the two dot scores and the five answers that raise or stop
    assert general["grade_id"] == "luong_matches_general_score"
    assert general["hidden"] and general["passed"] == 6 and general["total"] == 13  # mia handed in nothing
    assert [c["passed"] for c in checks[1:3]] == [7, 7]  # a tie keeps the notebook order
    assert [c["grade_id"] for c in checks[1:3]] == ["luong_padding_gets_zero_weight", "test_accuracy_at_least_0_80"]
    assert not any(c["hidden"] for c in checks[1:])
    row = re.search(r"<code>luong_matches_general_score</code>(.*?)</tr>", section(text, "checks"), re.S).group(1)
    assert "hidden" in row and "6 / 13" in row
    assert section(text, "checks").index("luong_matches_general_score") < section(text, "checks").index(
        "luong_output_shapes_and_dtypes"
    )


def test_statuses_are_counted_and_flagged_submissions_listed_with_their_reason(report):
    _, text, context = report
    table = {row["kind"]: row["total"] for row in context["status_table"]}
    assert table["ok"] == 34 and table["warnings"] == 3 and table["timed out"] == 1
    assert table["kernel died"] == 1 and table["flagged"] == 1 and table["no notebook"] == 1
    assert table["grader error"] == 1 and table["no assignment folder"] == 1
    flagged = {(f["student"], f["assignment"]): f["status"] for f in context["flagged"]}
    assert flagged == {
        ("lev", "sentiment"): "flagged: replaced",
        ("mia", "sentiment"): "no notebook",
        ("fay", "nmt"): "grader error: nbgrader exit 1 (see grading.log)",
        ("zed", "-"): "no assignment folder (expected sentiment, nmt)",
    }
    listed = section(text, "statuses").split('id="flagged"')[1]
    assert all(s in listed for s in ("lev", "flagged: replaced", "mia", "no notebook", "zed"))


def test_copy_with_renamed_variables_and_new_comments_is_near_identical(report):
    assert similarity.similarity(REFERENCE, RENAMED_COPY, STUB) >= 0.95
    _, text, context = report
    cluster = cluster_of(context, "ada")
    assert cluster and cluster["kind"] == "near-identical" and {"ada", "ben"} <= names(cluster)
    assert cluster["highest"] >= similarity.THRESHOLD
    card = section(text, "answers")
    assert "near-identical" in card and "ben" in card


def test_independent_correct_solutions_are_not_reported(report):
    for other in (INDEPENDENT, MATVEC):
        assert similarity.similarity(REFERENCE, other, STUB) < 0.4
    assert similarity.similarity(INDEPENDENT, MATVEC, STUB) < 0.4
    _, _, context = report
    assert cluster_of(context, "eve") is None and cluster_of(context, "lev") is None
    assert "eve" not in names(cluster_of(context, "ada"))


def test_identical_answers_are_listed_as_identical(report):
    _, _, context = report
    cluster = cluster_of(context, "cleo")
    assert cluster["kind"] == "identical" and names(cluster) == {"cleo", "dan"}
    assert cluster["groups"][0]["code"]["text"].startswith("class LuongAttention")


def test_the_released_stub_is_listed_apart_and_not_as_a_copy(report):
    _, text, context = report
    answers = sentiment(context)["answers"]
    assert [s["name"] for s in answers["stub"]] == ["fay", "gus"]  # gus added only a comment
    assert cluster_of(context, "fay") is None and cluster_of(context, "gus") is None
    assert "Handed in the released stub (2)" in section(text, "answers")


def test_code_that_does_not_tokenize_is_still_compared(report):
    broken = SENTIMENT["noor"][0]
    with pytest.raises(SyntaxError):
        compile(broken, "answer", "exec")
    assert similarity.tokens(broken)
    assert similarity.similarity(broken, RENAMED_COPY, STUB) >= similarity.THRESHOLD
    _, _, context = report
    assert "noor" in names(cluster_of(context, "ada"))


def test_tokens_ignore_names_comments_literals_and_layout():
    a = "x = np.mean(values, axis=1)  # average\n\n\ny = x * 2.5\n"
    b = "avg   = np.mean(v, axis=0)\ny = avg*7  # scaled\n"
    assert similarity.tokens(a) == similarity.tokens(b)
    assert similarity.tokens(a)[:7] == ["V", "=", "np", ".", "mean", "(", "V"]
    assert "axis" in similarity.tokens(a)  # keyword arguments of a call are kept
    assert similarity.tokens("self.W_a = tf.nn.softmax(s)") == [
        "self",
        ".",
        "V",
        "=",
        "tf",
        ".",
        "nn",
        ".",
        "softmax",
        "(",
        "V",
        ")",
        "\n",
    ]


def test_clusters_link_near_copies_in_a_chain_and_keep_pairwise_scores():
    answers = {"a": REFERENCE, "b": RENAMED_COPY, "c": REFERENCE + "\n", "d": INDEPENDENT, "e": None}
    found = similarity.clusters(answers, stub=STUB)
    assert len(found) == 1
    cluster = found[0]
    assert cluster.groups == [["a", "c"], ["b"]] and cluster.kind == "near-identical"
    assert cluster.pairs[0][:2] == (0, 1) and cluster.pairs[0][2] >= 0.95
    assert similarity.clusters({"a": STUB, "b": STUB}, stub=STUB) == []
    assert similarity.handed_in_stub({"a": STUB, "b": REFERENCE}, STUB) == ["a"]


def test_shared_runs_are_listed_under_time(report):
    _, text, context = report
    times = sentiment(context)["times"]
    assert times["shared"] == [{"count": 2, "students": ["cleo", "dan"]}] and times["runs"] == 12
    assert times["graded"] == 13 and times["reused"] == 0  # mia's missing notebook did not run
    nmt = next(a for a in context["assignments"] if a["name"] == "nmt")["times"]
    assert nmt["reused"] == 2 and nmt["shared"] == [{"count": 3, "students": ["hana", "ivan", "jo"]}]
    assert "Graded once, shared" in section(text, "time")


def test_names_link_to_existing_feedback_pages_only(report):
    _, text, _ = report
    assert 'href="feedback/ada/sentiment/sentiment.html"' in text
    assert 'href="feedback/ben/' not in text


def test_page_is_self_contained_and_escapes_what_students_wrote(tmp_path):
    rows = [Result("<b>x</b>", "sentiment", 0.0, 20.0, 3.0), Result("y", "sentiment", 0.0, 20.0, 3.0)]
    answer = "x = '<script>alert(1)</script>' + 'https://example.org/evil.js'\ny = x * 2\nz = y + x\n" * 3
    path = write_class_report(
        tmp_path / "class-report.html", rows, answers={("<b>x</b>", "sentiment"): answer, ("y", "sentiment"): answer}
    )
    text = path.read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;b&gt;x&lt;/b&gt;" in text
    assert not re.search(r"""\s(src|href)\s*=\s*['"]?(https?:)?//""", text, re.I)
    assert not re.search(r"<link[^>]*\shref=", text, re.I) and "@import" not in text


def test_report_needs_only_the_rows(tmp_path):
    rows = [
        Result("a", "nmt", 12.0, 12.0, 500.0, reused=True),
        Result("b", "nmt", None, None, 0.0, Status(Kind.NO_NOTEBOOK), flagged=True),
    ]
    path = write_class_report(tmp_path / "out" / "class-report.html", rows)
    text = path.read_text(encoding="utf-8")
    assert "No check records for this assignment." in text and "No answer cells to compare" in text
    context = class_report_context(rows, base=tmp_path, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert context["when"] == "2025-01-01 00:00 UTC" and context["assignments"][0]["times"]["histogram"] is None


def test_answers_checks_and_stubs_are_read_from_the_graded_notebooks(tmp_path):
    released = nbformat.read(LABS / "sentiment" / "sentiment.ipynb", 4)
    for student, answer in (("ada", REFERENCE), ("ben", RENAMED_COPY), ("old", DOT)):
        nb = nbformat.read(LABS / "sentiment" / "sentiment.ipynb", 4)
        solution_cell(nb).source = answer
        nb.metadata["coursekit"] = {"checks": check_records(SENTIMENT_CHECKS, set())}
        folder = tmp_path / "autograded" / student / "sentiment"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / "sentiment.ipynb")
    rows = [
        Result("ada", "sentiment", 20.0, 20.0),
        Result("ben", "sentiment", 20.0, 20.0, reused=True),
        Result("old", "sentiment", 0.0, 20.0, status=Status(Kind.GRADER_ERROR, "nbgrader exit 1"), flagged=True),
        Result("mia", "sentiment", 0.0, 20.0, status=Status(Kind.NO_NOTEBOOK), flagged=True),
        Result("ivy", "sentiment", 0.0, 20.0, status=Status(Kind.ANSWER_MISSING)),
    ]  # graded with the stub in its place
    ivy = tmp_path / "autograded" / "ivy" / "sentiment"
    ivy.mkdir(parents=True)
    nbformat.write(released, ivy / "sentiment.ipynb")
    data = read_run(tmp_path, rows)
    assert data["answers"] == {("ada", "sentiment"): REFERENCE, ("ben", "sentiment"): RENAMED_COPY}
    assert ("ivy", "sentiment") in data["checks"]
    assert [c["grade_id"] for c in data["checks"]["ada", "sentiment"]] == [c for c, _, _ in SENTIMENT_CHECKS]
    assert data["stubs"] == {"sentiment": solution_cell(released).source}
    context = class_report_context(rows, base=tmp_path, **data)
    assert names(cluster_of(context, "ada")) == {"ada", "ben"}


def test_screenshot_is_not_blank(report, tmp_path):
    path, _, _ = report
    pixels = screenshot(path, tmp_path / "class-report.png", height=2400)
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05
    top = pixels[:150]  # the header band is dark blue, not the white of an empty page
    assert top.mean() < 0.6
