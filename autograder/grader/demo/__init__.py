"""The shipped demo classes, built from the released labs by `make release`.

``autograder/demo/<class>/<student>/<assignment>/<notebook>`` is nbgrader's
``submitted/`` layout, so a class is graded by copying it. The student id says
what the submission does, and ``autograder/demo/expected_scores.csv`` says what
it must get (score and status, per profile).

* ``honest``: what careful students hand in (the reference solution, the
  released lab untouched, two typical mistakes). `make grade` grades it.
* ``hostile``: careless and hostile hand-ins that the autograder must survive
  with a fair grade (:mod:`.hostile`), and answers that attack the grader itself
  (:mod:`.attacks`). `make test` grades it in the smoke profile;
  `make grade DEMO=hostile` grades it by hand.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

from ..course import DEMO, LABS, SOLUTIONS
CLASSES = ("honest", "hostile")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def solution_cells(nb) -> list:
    """The answer cells that hold code (the sentiment lab's TODO)."""
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
            and c.get("cell_type") == "code"]


def written_answer_cells(nb) -> list:
    """The answer cells a TA grades by hand (markdown: the NMT labs' questions)."""
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
            and c.get("cell_type") == "markdown"]


def solution_cell(nb):
    cells = solution_cells(nb)
    if len(cells) != 1:
        raise ValueError(f"expected exactly one code answer cell, found {len(cells)}")
    return cells[0]


def student_version(source: str) -> str:
    """The reference solution as a student would hand it in: region markers removed."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (BEGIN, END))


GENERAL_SCORE_WITHOUT_MASK = '''\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values):
        # The signature of the original course: no mask parameter, so padding is attended to.
        scores = tf.einsum("bu,btu->bt", query, self.W_a(values))
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights'''

# Bodies of the answer cell: a mistake or an attack each, otherwise a correct layer.
HONEST_VARIANTS = {
    "sentiment": {
        "dot-product": '''\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, query, values, mask=None):
        # Forgot W_a: this is Luong's *dot* score, not the general one.
        scores = tf.einsum("bu,btu->bt", query, values)
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights''',
        "crashes": '''\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units)

    def call(self, query, values, mask=None):
        # Multiplies (batch, units) by (batch, max_len, units): the ranks do not match.
        scores = tf.matmul(query, self.W_a(values))
        attention_weights = tf.nn.softmax(scores, axis=1)
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights''',
    },
}


def _reference(assignment: str) -> str:
    solution = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
    return student_version(solution_cell(solution).source)


def _prepend(code: str, body: str) -> str:
    return code.rstrip("\n") + "\n\n\n" + body


def honest_class(assignment: str, released) -> dict[str, dict[str, object]]:
    name = f"{assignment}.ipynb"
    if not solution_cells(released):  # a worked lab: run as released, its questions answered
        nb = copy.deepcopy(released)
        solution = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
        model = {c.metadata["nbgrader"]["grade_id"]: c.source for c in written_answer_cells(solution)}
        for cell in written_answer_cells(nb):
            cell.source = "My answer, after running the lab: " + model[cell.metadata["nbgrader"]["grade_id"]]
        return {"passes-all": {name: nb}}
    bodies = {"passes-all": _reference(assignment), "untouched": None}
    bodies.update(HONEST_VARIANTS.get(assignment, {}))
    class_ = {}
    for student, body in bodies.items():
        nb = copy.deepcopy(released)
        if body is not None:
            solution_cell(nb).source = body.rstrip("\n")
        class_[student] = {name: nb}
    return class_


def build(assignments: list[str], release_dir: Path = LABS, demo_dir: Path = DEMO) -> None:
    """Write both demo classes from the released labs (called by `make release`)."""
    from .hostile import hostile_class
    for class_name, make in (("honest", honest_class), ("hostile", hostile_class)):
        root = demo_dir / class_name
        if root.exists():
            shutil.rmtree(root)
        for assignment in assignments:
            released = nbformat.read(release_dir / assignment / f"{assignment}.ipynb", as_version=4)
            for student, files in make(assignment, released).items():
                folder = root / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                for file_name, content in files.items():
                    if isinstance(content, str):
                        (folder / file_name).write_text(content, encoding="utf-8")
                    else:
                        nbformat.write(content, folder / file_name)
        print(f"demo class {root}")


def seed(submitted: Path, class_name: str = "honest", demo_dir: Path = DEMO) -> None:
    """Copy a demo class into an nbgrader ``submitted/`` folder."""
    if class_name not in CLASSES:
        raise ValueError(f"unknown demo class {class_name!r}; use one of {', '.join(CLASSES)}")
    if submitted.exists():
        shutil.rmtree(submitted)
    shutil.copytree(demo_dir / class_name, submitted)
