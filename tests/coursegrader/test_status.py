"""A status is a kind and a detail; its text is what grades.csv and the expected scores hold."""

import pytest

from coursegrader.status import Kind, Status, stopped


@pytest.mark.parametrize(
    "text,kind,detail",
    [
        ("ok", Kind.OK, ""),
        ("warnings", Kind.WARNINGS, ""),
        ("flagged: replaced; evidence", Kind.FLAGGED, "replaced; evidence"),
        ("timed out in luong_output_shapes_and_dtypes", Kind.TIMED_OUT, "luong_output_shapes_and_dtypes"),
        ("out of memory in luong_attention", Kind.OUT_OF_MEMORY, "luong_attention"),
        (
            "several notebooks, none named a.ipynb: b.ipynb, c.ipynb",
            Kind.SEVERAL_NOTEBOOKS,
            "none named a.ipynb: b.ipynb, c.ipynb",
        ),
        ("no notebook", Kind.NO_NOTEBOOK, ""),
        ("no notebook (found notes.txt)", Kind.NO_NOTEBOOK, "(found notes.txt)"),
        ("no assignment folder (expected a/ or b/)", Kind.NO_ASSIGNMENT_FOLDER, "(expected a/ or b/)"),
        ("grader error: nbgrader exit 1 (see grading.log)", Kind.GRADER_ERROR, "nbgrader exit 1 (see grading.log)"),
    ],
)
def test_a_status_reads_back_from_its_text(text, kind, detail):
    status = Status.parse(text)
    assert (status.kind, status.detail) == (kind, detail)
    assert str(status) == text


def test_text_that_is_no_status_is_refused():
    with pytest.raises(ValueError, match="is not a status"):
        Status.parse("something new")


def test_an_expectation_names_the_kind_and_the_start_of_the_detail():
    got = Status(Kind.FLAGGED, "replaced: numpy.mean; evidence outside its cell")
    assert got.matches(Status.parse("flagged: replaced"))
    assert got.matches(Status(Kind.FLAGGED))
    assert not got.matches(Status(Kind.WARNINGS))
    assert not Status(Kind.OK).matches(Status(Kind.OK, "x"))


def test_kinds_say_what_a_run_does_with_them():
    assert stopped("kernel died", "cell 3") == Status(Kind.KERNEL_DIED, "cell 3")
    assert Kind.GRADER_ERROR.retried and Kind.NOT_GRADED_YET.retried and not Kind.OK.retried
    assert Kind.NO_NOTEBOOK.not_run and not Kind.TIMED_OUT.not_run and Kind.TIMED_OUT.stopped
