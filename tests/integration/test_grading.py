"""`make grade` on the shipped demo class: every submission gets exactly its expected score.

The smoke run checks the plumbing in a few minutes. The cpu run is the real
thing (about twenty minutes): nbgrader executes each submission in the profile
the course uses on machines without a GPU; there the sentiment solution must
reach 0.80 test accuracy and the NMT lab its BLEU floor.
"""

import csv
import json
import os
import re
from html.parser import HTMLParser

import nbformat
import pytest
from nbgrader.api import Gradebook

from coursegrader import table
from coursegrader.course import ROOT
from coursegrader.grade import grade
from coursegrader.status import Kind, Status
from coursekit import profiles
from tests.support.leaks import leaked_lines

TODO_CHECKS = {
    "luong_output_shapes_and_dtypes",
    "luong_weights_sum_to_one",
    "luong_padding_gets_zero_weight",
    "luong_matches_general_score",
    "test_accuracy_at_least_0_80",
    "top10_words_are_most_attended",
}


def graded(tmp_path_factory, profile, demo_class="honest", jobs=1, memory=None, only=None):
    workdir = tmp_path_factory.mktemp(f"grade-{demo_class}-{profile}")
    results = grade(workdir=workdir, profile=profile, demo=demo_class, jobs=jobs, memory=memory, only=only)
    return workdir, {(r.student, r.assignment): r for r in results}


def cell_scores(workdir, student, assignment="sentiment"):
    """{grade_id: score} of one graded submission, from the gradebook."""
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: g.score for g in nb.grades}


def cell_output(workdir, student, assignment, grade_id):
    """The printed output of one cell of a graded notebook."""
    nb = nbformat.read(workdir / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.outputs)


@pytest.fixture(scope="module")
def smoke(smoke_honest):
    workdir, results = smoke_honest
    return workdir, {(r.student, r.assignment): r for r in results}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    # two workers side by side; a 3 GiB cap per kernel (smoke needs well under 1) stops the runaway fast
    return graded(tmp_path_factory, "smoke", "hostile", jobs=2, memory="3G")


# The Luong lab's cpu run (about 6 minutes of training) is left to `make grade`, which checks its
# expected score too; here its checks run in smoke (above) and in tests/labs/test_nmt_luong.py.
CPU_ASSIGNMENTS = ["sentiment", "nmt"]


@pytest.fixture(scope="module")
def cpu(tmp_path_factory):
    return graded(tmp_path_factory, "cpu", jobs=2, only=CPU_ASSIGNMENTS)


@pytest.mark.parametrize("profile,demo_class", [("smoke", "honest"), ("smoke", "hostile"), ("cpu", "honest")])
def test_demo_class_gets_exactly_its_expected_scores_and_statuses(request, profile, demo_class):
    fixture = {"honest": profile, "hostile": "hostile"}[demo_class]
    workdir, results = request.getfixturevalue(fixture)
    expected = table.read_expected(profile, demo_class)
    if profile == "cpu":
        expected = {key: want for key, want in expected.items() if key[1] in CPU_ASSIGNMENTS}
    assert set(expected) == set(results), "every student folder gets exactly one row"
    got = {key: (r.score, r.status) for key, r in results.items()}
    wrong = {key: (got[key], want) for key, want in expected.items() if not table.matches(results[key], want)}
    assert not wrong, wrong
    rows = list(csv.DictReader((workdir / "grades.csv").read_text(encoding="utf-8").splitlines()))
    assert {(r["student_id"], r["assignment"]) for r in rows} == set(expected)
    for (student, assignment), r in results.items():
        if not r.status.kind.absent:  # nothing handed in: nothing to give feedback on
            assert (workdir / "feedback" / student / assignment / f"{assignment}.html").exists()


@pytest.mark.parametrize("fixture", ["smoke", "hostile"])
def test_no_feedback_page_contains_hidden_verdict_code_in_any_encoding(request, fixture):
    workdir, _ = request.getfixturevalue(fixture)
    pages = sorted((workdir / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "HIDDEN TESTS" not in text, page
        leaked = leaked_lines(text)
        assert not leaked, f"{page} shows hidden verdict code: {leaked[:3]}"


class _ActiveMarkup(HTMLParser):
    """Collects every script tag and event-handler attribute of a page."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found += [tag] if tag == "script" else [f"{tag} {name}" for name, _ in attrs if name.startswith("on")]


def test_what_a_submission_displays_is_shown_as_text_never_run(hostile):
    """Check that no feedback page and no notebook formgrader shows runs a submission's HTML or script."""
    workdir, results = hostile
    assert results[("injects-script", "sentiment")].score == results[("reads-secrets", "sentiment")].score
    for page in sorted((workdir / "feedback").rglob("*.html")):
        parser = _ActiveMarkup()
        parser.feed(page.read_text(encoding="utf-8"))
        assert not parser.found, f"{page} has active markup: {parser.found[:3]}"
    graded = nbformat.read(workdir / "autograded" / "injects-script" / "sentiment" / "sentiment.ipynb", 4)
    kinds = {kind for cell in graded.cells for out in cell.get("outputs", []) for kind in out.get("data", {})}
    assert kinds <= {"text/plain", "image/png", "image/jpeg", "image/gif"}, kinds
    answer = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "luong_attention")
    shown = "".join(out.get("data", {}).get("text/plain", "") for out in answer.outputs)
    assert "all checks passed" in shown and "onerror" in shown, "shown as the text it is"


def test_warnings_cost_nothing_and_are_reported(hostile, smoke):
    workdir, results = hostile
    assert results[("warns-but-correct", "sentiment")].score == smoke[1][("passes-all", "sentiment")].score
    assert any("printed a warning" in w for w in results[("warns-but-correct", "sentiment")].warnings)
    stderr_shown = cell_output(workdir, "warns-but-correct", "sentiment", "luong_output_shapes_and_dtypes")
    assert stderr_shown == "" or "build()" not in stderr_shown  # moved from stderr to a display output


def test_a_layer_without_mask_parameter_loses_only_the_padding_check(hostile, smoke):
    workdir, _ = hostile
    lost = {k for k, v in cell_scores(workdir, "no-mask-parameter").items() if v == 0}
    reference_lost = {k for k, v in cell_scores(smoke[0], "passes-all").items() if v == 0}
    assert lost == reference_lost | {"luong_padding_gets_zero_weight"}
    page = (workdir / "feedback" / "no-mask-parameter" / "sentiment" / "sentiment.html").read_text()
    assert "Worked around" in page


def test_a_sandboxed_submission_reads_no_secret_and_writes_nothing_into_the_bundle(hostile):
    workdir, _results = hostile
    out = cell_output(workdir, "reads-secrets", "sentiment", "luong_attention")
    assert "could not read" in out and "READ " not in out
    assert "solutions" not in out.split("bundle seen from inside:")[1].splitlines()[0]
    written = [
        p for p in list(ROOT.rglob("written-by-a-submission.txt")) + list(workdir.rglob("written-by-a-submission.txt"))
    ]
    assert not written
    assert "WROTE into " + str(ROOT) not in cell_output(workdir, "writes-into-bundle", "sentiment", "luong_attention")


def test_a_submission_cannot_change_the_values_the_grader_prepared_for_every_kernel(hostile):
    workdir, _results = hostile
    out = cell_output(workdir, "poisons-shared-values", "sentiment", "luong_attention")
    lines = out.strip().splitlines()
    assert len(lines) >= 3 and all(line.startswith("could not write") for line in lines), out
    cache = ROOT / "autograder" / ".cache"
    assert not (cache / "planted.json").exists()
    for kept in cache.glob("shared-sentiment-*/imdb_kept_texts.json"):
        assert all(item["strings"] for item in json.loads(kept.read_text(encoding="utf-8"))["items"])


def test_kernels_read_the_values_prepared_once_for_the_class(hostile):
    workdir, _results = hostile
    timings = [
        json.loads(path.read_text(encoding="utf-8"))["record"].get("timing", {})
        for path in (workdir / ".results").glob("*/outcome.json")
    ]
    assert any(t.get("prepared") for t in timings), "units after the first ones read the prepared values"


def test_patching_numpy_changes_no_verdict_and_is_flagged_for_review(hostile, smoke):
    workdir, results = hostile
    r = results[("patches-numpy", "sentiment")]
    assert r.flagged and r.status.kind is Kind.FLAGGED and "numpy.mean" in r.status.detail
    assert r.score == smoke[1][("passes-all", "sentiment")].score, "verdicts are computed outside the kernel"
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        assert gb.find_submission_notebook("sentiment", "sentiment", "patches-numpy").flagged


# Each attack on the grader with the honest answer that makes the same mistake (or none).
ATTACKS = {
    "restores-its-patch": "dot-product",
    "rewrites-grader-helpers": "dot-product",
    "forges-evidence": "dot-product",
    "label-oracle": "passes-all",
    "leaks-through-exception": "passes-all",
    "leaks-through-output": "passes-all",
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_on_the_grader_scores_no_more_than_the_honest_answer_with_the_same_mistake(attack, hostile, smoke):
    _, results = hostile
    honest = smoke[1][(ATTACKS[attack], "sentiment")]
    # the work is compared: the honest demo's dot-product hands in late (its term), the attacks do not
    assert results[(attack, "sentiment")].score <= honest.score + honest.penalty


def test_a_hidden_check_reports_the_type_of_an_exception_never_its_text(hostile):
    workdir, _results = hostile
    page = (workdir / "feedback" / "leaks-through-exception" / "sentiment" / "sentiment.html").read_text()
    assert "your code raised ValueError while a hidden check ran" in page
    graded = nbformat.read(
        workdir / "autograded" / "leaks-through-exception" / "sentiment" / "sentiment.ipynb", as_version=4
    )
    message = next(
        c["message"] for c in graded.metadata["coursekit"]["checks"] if c["grade_id"] == "luong_matches_general_score"
    )
    assert message == "your code raised ValueError while a hidden check ran"


def test_evidence_of_the_kernels_own_making_fails_and_is_flagged(hostile):
    _workdir, results = hostile
    r = results[("forges-evidence", "sentiment")]
    assert r.flagged and r.score == 0
    assert "evidence handed out outside its check" in r.status.detail and "more than once" in r.status.detail


def test_the_graded_kernel_saw_no_test_label_and_said_so(hostile):
    workdir, _ = hostile
    assert "labels withheld while grading" in cell_output(workdir, "reads-secrets", "sentiment", "evaluation")
    out = cell_output(workdir, "reads-secrets", "sentiment", "luong_attention")
    assert f"could not read {ROOT / 'autograder' / 'coursegrader' / 'hidden' / 'sentiment.py'}" in out
    assert "test labels seen from inside: ['']" in out, "data/ in the sandbox is the copy without them"


def test_a_runaway_allocation_is_stopped_at_its_cap_while_the_others_finish(hostile):
    _workdir, results = hostile
    assert results[("allocates-without-bound", "sentiment")].status == Status(Kind.OUT_OF_MEMORY, "luong_attention")
    finished = [r for r in results.values() if r.score and r.score > 0]
    assert len(finished) >= 6, "the other submissions graded beside it must finish normally"


def test_a_kernel_past_a_limit_keeps_what_it_did_before_and_says_where_it_was_cut(hostile):
    """Check that the disk, file, process and output limits stop a kernel in its cell, never the grader."""
    workdir, results = hostile
    limited = ["writes-everywhere", "makes-files-without-end", "threads-without-end", "floods-the-grader"]
    assert all(results[(s, "sentiment")].status.kind.stopped for s in limited)
    passed = {gid for gid, score in cell_scores(workdir, "writes-everywhere").items() if score > 0}
    assert passed == TODO_CHECKS - {"test_accuracy_at_least_0_80", "top10_words_are_most_attended"}
    for student in limited:
        page = (workdir / "feedback" / student / "sentiment" / "sentiment.html").read_text()
        assert "The grader stopped the kernel here" in page, student
    log = (workdir / "grading.log").read_text()
    grew = [int(n) for n in re.findall(r"the grader's memory grew by at most (\d+) MiB", log)]
    assert grew and max(grew) < 1024, "the grader's memory stays bounded whatever a kernel sends"


def test_a_daemon_a_submission_leaves_ends_with_its_kernel(hostile):
    from coursegrader.demo.exhausts import DAEMON_MARKER

    _workdir, results = hostile
    assert results[("outlives-grading", "sentiment")].status == Status(Kind.OK)
    left = [p for p in os.listdir("/proc") if p.isdigit() and _command_has(p, DAEMON_MARKER)]
    assert not left, "a daemon started while grading outlived its kernel"


def _command_has(pid: str, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


def test_a_timeout_names_its_cell_and_still_gives_feedback_for_the_cells_before(hostile):
    workdir, results = hostile
    assert results[("endless-loop", "sentiment")].status == Status(Kind.TIMED_OUT, "luong_output_shapes_and_dtypes")
    page = (workdir / "feedback" / "endless-loop" / "sentiment" / "sentiment.html").read_text()
    assert "did not run" in page and "CellTimeoutError" in page


def test_solution_earns_full_marks_and_reaches_the_accuracy_threshold_in_the_cpu_profile(cpu):
    workdir, results = cpu
    r = results[("passes-all", "sentiment")]
    assert r.score == r.max_score == 20
    # the grader's verdict, from the kernel's predictions and the labels the kernel never saw
    text = cell_output(workdir, "passes-all", "sentiment", "test_accuracy_at_least_0_80")
    accuracy = float(re.search(r"Test accuracy (0\.\d+) >= 0\.80", text).group(1))
    assert accuracy >= 0.80
    assert "labels withheld while grading" in cell_output(workdir, "passes-all", "sentiment", "evaluation")
    print(f"cpu profile: solution test accuracy {accuracy:.4f}, graded in {r.seconds:.0f} s")


def test_released_lab_fails_every_check_that_depends_on_the_todo(smoke):
    workdir, _ = smoke
    scores = cell_scores(workdir, "untouched")
    assert set(scores) >= TODO_CHECKS
    assert {name: scores[name] for name in TODO_CHECKS} == dict.fromkeys(TODO_CHECKS, 0)


def test_only_the_hidden_check_catches_the_dot_product_in_the_smoke_profile(smoke):
    workdir, _ = smoke
    failed = {name for name, score in cell_scores(workdir, "dot-product").items() if score == 0}
    assert failed == {"luong_matches_general_score", "test_accuracy_at_least_0_80"}


def test_the_accuracy_check_fails_honestly_when_the_model_is_barely_trained(smoke):
    workdir, _ = smoke
    assert cell_scores(workdir, "passes-all")["test_accuracy_at_least_0_80"] == 0


def test_nmt_lab_earns_full_marks_and_its_bleu_floor_in_the_cpu_profile(cpu):
    workdir, results = cpu
    r = results[("passes-all", "nmt")]
    assert (r.score, r.max_score, r.to_grade) == (12, 16, 2), "every check, and two answers for a TA"
    # BLEU scored by the grader against references the kernel never had
    assert "references are withheld while grading" in cell_output(workdir, "passes-all", "nmt", "bleu")
    text = cell_output(workdir, "passes-all", "nmt", "bleu_above_floor")
    greedy = float(re.search(r"Greedy BLEU ([\d.]+)", text).group(1))
    assert greedy >= profiles.SETTINGS["nmt"]["cpu"]["bleu_floor"]
    print(f"cpu profile: NMT greedy BLEU {greedy:.2f} (scored by the grader), graded in {r.seconds:.0f} s")


@pytest.mark.parametrize("assignment", ["nmt", "nmt_luong"])
def test_nmt_smoke_run_passes_every_check_but_the_bleu_floor(smoke, assignment):
    """Smoke trains for seconds: the BLEU floor must fail there, and nothing else may."""
    workdir, _ = smoke
    scores = cell_scores(workdir, "passes-all", assignment)
    written = {name for name in scores if name.startswith("answer_")}
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        grades = gb.find_submission_notebook(assignment, assignment, "passes-all").grades
        assert {g.name for g in grades if g.needs_manual_grade} == written and len(written) == 2, (
            "the written answers are left for a TA to grade"
        )
    scores = {name: score for name, score in scores.items() if name not in written}
    assert len(scores) == 6
    assert {name for name, score in scores.items() if score == 0} == {"bleu_above_floor"}
