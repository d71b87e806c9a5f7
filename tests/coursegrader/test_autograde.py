"""The pieces of a trustworthy autograde, without running a notebook (seconds).

coursegrader.rebuild rebuilds a submission from the released lab, coursekit.integrity
spots replaced objects (a flag for review), coursegrader.verdicts judges the evidence,
coursegrader.feedback hides the hidden tests, and coursegrader.discover accounts for every
student folder. The real runs are in test_grading.py.
"""

import copy
import json
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursegrader import cells, feedback, rebuild, verdicts
from coursegrader.cells import solution_cell
from coursegrader.discover import UnreadableNotebook, discover, read_notebook
from coursegrader.requests import draw, lab_settings
from coursegrader.status import Kind, Status
from coursekit import integrity
from coursekit.checks import evidence, run_probe
from tests.support.notebook_cells import cells_by_id, load

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def released():
    return load("sentiment", "labs")


def tiny_lab():
    """A released lab of eight cells: locked code, one code answer, two checks, a written answer."""
    return nbformat.read(FIXTURES / "tiny_lab.ipynb", as_version=4)


def test_rebuild_takes_only_the_answer_and_lists_every_other_change():
    released = tiny_lab()
    submitted = tiny_lab()
    by_id = {cells.grade_id(c): c for c in submitted.cells}
    by_id["double"].source = "def double(x):\n    return 2 * x"
    by_id["double_doubles"].source = "pass  # all good"
    submitted.cells.remove(by_id["double_negative"])
    submitted.cells.insert(0, nbformat.v4.new_code_cell("print('mine')"))
    setup, use = submitted.cells.index(by_id["setup"]), submitted.cells.index(by_id["use_double"])
    submitted.cells[setup], submitted.cells[use] = submitted.cells[use], submitted.cells[setup]
    rebuilt, warnings, missing = rebuild.rebuild(submitted, released)
    assert missing == []
    expected = [c.source for c in released.cells]
    expected[2] = "def double(x):\n    return 2 * x"
    assert [c.source for c in rebuilt.cells] == expected
    text = " | ".join(warnings)
    assert "`double_doubles` was edited" in text and "`double_negative` was deleted" in text
    assert "1 cell(s) added" in text and "re-ordered" in text


def test_rebuild_reports_a_missing_answer_and_a_retyped_one():
    released, submitted = tiny_lab(), tiny_lab()
    answer = next(c for c in submitted.cells if cells.grade_id(c) == "double")
    answer.cell_type = "markdown"
    _, warnings, missing = rebuild.rebuild(submitted, released)
    assert missing == [] and any("changed to a markdown cell" in w for w in warnings)
    submitted.cells.remove(answer)
    assert rebuild.rebuild(submitted, released)[2] == ["double"]


def test_rebuild_keeps_each_students_written_answer():
    released, submitted = tiny_lab(), tiny_lab()
    next(c for c in submitted.cells if cells.grade_id(c) == "answer_why").source = "Because **two** is enough."
    rebuilt, warnings, _ = rebuild.rebuild(submitted, released)
    assert next(c for c in rebuilt.cells if cells.grade_id(c) == "answer_why").source == "Because **two** is enough."
    assert warnings == []


def test_integrity_cells_guard_what_the_checks_use_and_follow_every_check(released):
    nb = copy.deepcopy(released)
    rebuild.add_integrity_cells(nb, "n0nce")
    roles = [c.metadata.get("coursekit", {}).get("point") for c in nb.cells]
    first_answer = next(i for i, c in enumerate(nb.cells) if cells.is_answer(c))
    assert roles[first_answer - 1] == "snapshot" and roles[-1] == "end"
    checks = [cells.grade_id(c) for c in nb.cells if cells.is_check(c)]
    assert [r for r in roles if r not in (None, "snapshot", "end")] == checks
    snapshot = nb.cells[first_answer - 1].source
    for name in ("check", "encode_texts", "last_words", "profile"):
        assert repr(name) in snapshot
    assert "'model'" not in snapshot  # bound by a locked cell after the answer: not guardable


def test_names_used_and_bound():
    used = rebuild.names_used("x = np.testing.assert_allclose(len(a), b.c)\n")
    assert {"np", "np.testing", "np.testing.assert_allclose", "len", "a", "b", "b.c"} <= used
    assert rebuild.names_bound("import numpy as np\nfrom a import b\ndef f(): pass\nx, y = 1, 2") >= {
        "np",
        "b",
        "f",
        "x",
        "y",
    }


def _reports(capsys):
    return integrity.parse_reports(capsys.readouterr().out)


def test_integrity_spots_a_replaced_function_and_a_restored_one(capsys, monkeypatch):
    namespace = {"np": np, "len": len}
    integrity.snapshot(namespace, ["np.mean", "len"], "abc")
    integrity.verify(namespace, "clean")
    monkeypatch.setattr(np, "mean", lambda *a, **k: 1.0)
    namespace["len"] = lambda x: 3
    integrity.verify(namespace, "patched")
    snap, clean, patched = _reports(capsys)
    assert snap["point"] == "snapshot" and snap["nonce"] == "abc"
    assert clean["changed"] == [] and clean["hooks"] == []
    assert set(patched["changed"]) >= {"np.mean", "numpy.mean", "len"}


def test_integrity_spots_trace_and_import_hooks(capsys):
    integrity.snapshot({}, [], "n")

    class Finder:
        def find_spec(self, *args):
            return None

    Finder.__module__ = "__main__"  # as if typed into the notebook
    finder = Finder()
    sys.meta_path.insert(0, finder)
    old = sys.gettrace()
    sys.settrace(lambda *a: None)
    try:
        integrity.verify({}, "hooked")
    finally:
        sys.settrace(old)
        sys.meta_path.remove(finder)
    assert _reports(capsys)[-1]["hooks"] == ["import hook", "trace"]


def test_verdicts_come_from_evidence_and_tampering_only_flags(released):
    """Passed exactly when the verdict on the check's evidence says so; stderr costs nothing; a check
    that never ran fails; a tamper report flags the submission without costing the check its points."""
    nb = copy.deepcopy(released)
    rebuild.add_integrity_cells(nb, "n")
    checks = [c for c in nb.cells if cells.is_check(c)]
    gids = [cells.grade_id(c) for c in checks]
    requests = draw("sentiment", gids, lab_settings("sentiment", "smoke"), seed=5)
    nb.metadata["coursekit"] = {
        "nonce": "n",
        "warnings": [],
        "requests": evidence.encode(requests),
        "evidence_nonce": "e",
    }
    namespace = {}
    exec(cells_by_id(released)["imports"].source, namespace)
    exec(solution_cell(load("sentiment")).source, namespace)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.setdefault("coursekit", {})["ran"] = "yes"
            point = cell.metadata["coursekit"].get("point")
            if point:
                report = {"point": point, "nonce": "n", "changed": [], "hooks": []}
                if point == gids[2]:
                    report["changed"] = ["numpy.mean"]
                cell.outputs = [
                    nbformat.v4.new_output("stream", name="stdout", text=f"{integrity.MARKER} {json.dumps(report)}\n")
                ]
    for cell, gid in zip(checks[:4], gids[:4]):
        request = evidence.decode(evidence.encode(requests[gid]))
        found = run_probe(request, {"LuongAttention": namespace["LuongAttention"]})
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", data={evidence.MIME: json.loads(json.dumps(evidence.record(gid, "e", found)))}
            )
        ]
    checks[0].outputs.append(nbformat.v4.new_output("stream", name="stderr", text="UserWarning: harmless\n"))
    checks[1].outputs.append(
        nbformat.v4.new_output("error", ename="AssertionError", evalue="printed by the kernel", traceback=[])
    )
    del checks[3].metadata["coursekit"]["ran"]
    checks[4].outputs = [
        nbformat.v4.new_output("error", ename="NameError", evalue="name 'model' is not defined", traceback=[])
    ]
    nb, _ = verdicts.ComputeVerdicts().preprocess(nb, {"nbgrader": {"assignment": "sentiment"}})
    result = {c["grade_id"]: c["passed"] for c in nb.metadata.coursekit["checks"]}
    assert [result[g] for g in gids] == [True, True, True, False, False, False]
    # a cell that ran without an error and handed out nothing is odd: flagged, like the tampering
    assert nb.metadata.coursekit["flagged"] == [f"no evidence for `{gids[5]}`", "replaced numpy.mean"]
    assert nb.metadata.coursekit["status"].startswith("flagged: ")
    assert "NameError: name 'model' is not defined" in nb.metadata.coursekit["checks"][4]["message"]
    assert not any(o.get("name") == "stderr" or o.get("output_type") == "error" for o in checks[0].outputs)
    assert not any(evidence.MIME in o.get("data", {}) for c in checks for o in c.outputs), "evidence is removed"
    assert "requests" not in nb.metadata.coursekit


def test_feedback_hides_hidden_test_code_even_when_a_submission_prints_it(released):
    solution = load("sentiment")
    hidden = next(c for c in solution.cells if "BEGIN HIDDEN TESTS" in c.source)
    nb = copy.deepcopy(solution)
    leak = next(c for c in nb.cells if cells.grade_id(c) == "luong_output_shapes_and_dtypes")
    leak.outputs = [nbformat.v4.new_output("stream", name="stdout", text=hidden.source)]
    page = feedback.render(nb, student="s", assignment="sentiment", score=1, max_score=20, status=Status(Kind.OK))
    body = hidden.source.split("### BEGIN HIDDEN TESTS", 1)[1]
    lines = [line.strip() for line in body.splitlines() if len(line.strip()) >= 20]
    assert lines and not [line for line in lines if line in page]
    assert "Check that the scores are Luong's general score" in page  # the docstring stays


def test_unreadable_notebooks_get_a_readable_reason(tmp_path):
    cases = {"cut.ipynb": '{"cells": [', "list.ipynb": "[1, 2]", "binary.ipynb": b"\xff\xfe\x00"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(UnreadableNotebook) as caught:
            read_notebook(path)
        assert str(caught.value.status).startswith("invalid notebook: ")


def test_every_student_folder_is_accounted_for(tmp_path):
    def put(rel, text="{}"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    put("ok/sentiment/sentiment.ipynb")
    put("ok/sentiment/scratch.ipynb")
    put("renamed/sentiment/Sentiment (1).ipynb")
    put("two/sentiment/a.ipynb")
    put("two/sentiment/b.ipynb")
    put("none/sentiment/notes.txt")
    put("lost/homework.ipynb")
    found = {s.student: s for s in discover(tmp_path, ["sentiment"], ["sentiment", "nmt"])}
    assert set(found) == {"ok", "renamed", "two", "none", "lost"}
    assert found["ok"].path.name == "sentiment.ipynb" and "scratch.ipynb" in found["ok"].warnings[0]
    assert found["renamed"].path.name == "Sentiment (1).ipynb" and found["renamed"].warnings
    assert found["two"].problem.kind is Kind.SEVERAL_NOTEBOOKS
    assert str(found["none"].problem) == "no notebook (found notes.txt)"
    assert found["lost"].problem.kind is Kind.NO_ASSIGNMENT_FOLDER


def test_the_first_failed_locked_cell_is_named_with_the_reason_a_student_can_act_on():
    cell = nbformat.v4.new_code_cell("model = SentimentClassifier()")
    wrapped = (
        "Exception encountered when calling LuongAttention.call().\n\n"
        "Matrix size-incompatible: In[0]: [128,128], In[1]: [128,100,128]\n\n"
        "Arguments received by LuongAttention.call():\n  • query=tf.Tensor(shape=(128, 128))"
    )
    cell.outputs = [nbformat.v4.new_output("error", ename="InvalidArgumentError", evalue=wrapped, traceback=[])]
    (note,) = verdicts.first_locked_error(cell, 12, [])
    assert note.endswith("InvalidArgumentError: Matrix size-incompatible: In[0]: [128,128], In[1]: [128,100,128]")
    cell.outputs = [nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[])]
    assert verdicts.first_locked_error(cell, 12, [])[0].endswith(": NotImplementedError")
    assert verdicts.first_locked_error(cell, 12, ["an earlier check failed"]) == []
