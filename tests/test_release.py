"""labs/ and the demo class are exactly what `make release` generates from solutions/."""
import json

import pytest

from coursekit import ROOT, grading


def without_cell_ids(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell.pop("id", None)
    return nb


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    grading.release(release_dir=tmp / "labs", demo_dir=tmp / "demo", db=tmp / "gradebook.db")
    return tmp


@pytest.mark.parametrize("assignment", grading.assignments())
def test_committed_lab_equals_a_fresh_release(fresh_release, assignment):
    name = f"{assignment}/{assignment}.ipynb"
    assert without_cell_ids(ROOT / "labs" / name) == without_cell_ids(fresh_release / "labs" / name), (
        f"labs/{name} is out of date: run `make release` and commit the result")


def test_committed_demo_class_equals_a_fresh_build(fresh_release):
    committed = sorted(p.name for p in (ROOT / "autograder" / "demo").glob("*.ipynb"))
    assert committed == sorted(p.name for p in (fresh_release / "demo").glob("*.ipynb"))
    for name in committed:
        assert (without_cell_ids(ROOT / "autograder" / "demo" / name)
                == without_cell_ids(fresh_release / "demo" / name)), f"{name}: run `make release`"


def test_released_lab_has_no_solution_and_no_hidden_test():
    for assignment in grading.assignments():
        text = (ROOT / "labs" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text or assignment != "sentiment"


def test_untouched_demo_submission_is_the_released_lab():
    assert (without_cell_ids(ROOT / "autograder" / "demo" / "sentiment-untouched.ipynb")
            == without_cell_ids(ROOT / "labs" / "sentiment" / "sentiment.ipynb"))


def test_release_and_grading_never_copy_trained_weights(tmp_path):
    """A TA's checkpoints/ in solutions/nmt/ must not reach labs/ or let a graded run skip training."""
    from nbgrader.utils import find_all_files
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "autograder")).load_config()
    (tmp_path / "checkpoints" / "nmt-cpu").mkdir(parents=True)
    (tmp_path / "checkpoints" / "nmt-cpu" / "ckpt-1.index").write_text("weights")
    (tmp_path / "attention_heatmap.png").write_bytes(b"png")
    (tmp_path / "notes.txt").write_text("a file the lab needs")
    copied = find_all_files(str(tmp_path), config.CourseDirectory.ignore)
    assert copied == [str(tmp_path / "notes.txt")]
