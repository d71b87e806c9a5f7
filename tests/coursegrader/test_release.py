"""labs/ and the demo class are exactly what `make release` generates from solutions/."""

import json
import re

import pytest

from coursegrader.course import ROOT, assignments
from coursegrader.release import release


def without_cell_ids(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell.pop("id", None)
    return nb


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("release")
    release(release_dir=tmp / "labs", demo_dir=tmp / "demo", db=tmp / "gradebook.db")
    return tmp


@pytest.mark.integration  # a whole release of every lab (nbgrader): ~10 s
@pytest.mark.parametrize("assignment", assignments())
def test_committed_lab_equals_a_fresh_release(fresh_release, assignment):
    name = f"{assignment}/{assignment}.ipynb"
    assert without_cell_ids(ROOT / "labs" / name) == without_cell_ids(fresh_release / "labs" / name), (
        f"labs/{name} is out of date: run `make release` and commit the result"
    )


def _demo_files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.mark.integration  # the same release
def test_committed_demo_classes_equal_a_fresh_build(fresh_release):
    committed_root, fresh_root = ROOT / "autograder" / "demo", fresh_release / "demo"
    # expected_scores.csv and the demo classes' terms (term/: calendar, roster...) are inputs, not built
    committed = [p for p in _demo_files(committed_root) if p.name != "expected_scores.csv" and p.parts[0] != "term"]
    assert committed == _demo_files(fresh_root), "the demo classes are out of date: run `make release`"
    for rel in committed:
        a, b = committed_root / rel, fresh_root / rel
        if rel.suffix == ".ipynb" and rel.parts[0] == "honest":
            assert without_cell_ids(a) == without_cell_ids(b), f"{rel}: run `make release`"
        else:  # hostile files may be broken on purpose: compare them as text, cell ids aside
            strip = lambda t: re.sub(r'"id": "[^"]*",?\n\s*', "", t)  # noqa: E731
            assert strip(a.read_text(encoding="utf-8")) == strip(b.read_text(encoding="utf-8")), (
                f"{rel}: run `make release`"
            )


def test_every_demo_student_has_an_expected_score_and_status():
    import csv

    with open(ROOT / "autograder" / "demo" / "expected_scores.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    from coursegrader.roster import read_roster

    for class_name in ("honest", "hostile"):
        students = {p.name for p in (ROOT / "autograder" / "demo" / class_name).iterdir()}
        students |= set(read_roster(ROOT / "autograder" / "demo" / "term" / class_name / "roster.csv") or ())
        listed = {r["student"] for r in rows if r["class"] == class_name and r["profile"] == "smoke"}
        assert students == listed, f"{class_name}: expected_scores.csv and the demo folders disagree"


def test_released_lab_has_no_solution_and_no_hidden_test():
    for assignment in assignments():
        text = (ROOT / "labs" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text or assignment != "sentiment"


def test_untouched_demo_submission_is_the_released_lab():
    assert without_cell_ids(
        ROOT / "autograder" / "demo" / "honest" / "untouched" / "sentiment" / "sentiment.ipynb"
    ) == without_cell_ids(ROOT / "labs" / "sentiment" / "sentiment.ipynb")


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
