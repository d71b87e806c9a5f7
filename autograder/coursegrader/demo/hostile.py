"""The hostile demo class: careless and hostile hand-ins the autograder must survive with a fair grade.

Careless: a correct layer that makes Keras warn, a layer without the ``mask``
parameter, edited and deleted checks, a misnamed, truncated or missing notebook,
two notebooks, a deleted answer. Hostile: an endless loop, ``os._exit``,
unbounded memory, reading secrets, writing into the bundle or into the values every
kernel of the class shares, patching NumPy; the answers of :mod:`.attacks`, which
attack the grader itself; and those of :mod:`.exhausts`, which try to spend the
machine or outlive their grading.
"""

from __future__ import annotations

import copy

import nbformat

from ..cells import is_check, reference_answer, solution_cell, solution_cells
from .answers import GENERAL_SCORE_WITHOUT_MASK, _prepend
from .attacks import (
    DOT_LAYER,
    FORGES_EVIDENCE,
    INJECTS_SCRIPT,
    LABEL_ORACLE,
    LEAKS_THROUGH_EXCEPTION,
    LEAKS_THROUGH_OUTPUT,
    READS_ROW_ORDER,
    RESTORES_ITS_PATCH,
    REWRITES_GRADER_HELPERS,
    pastes_test_labels,
)
from .exhausts import (
    FLOODS_THE_GRADER,
    MAKES_FILES_WITHOUT_END,
    OUTLIVES_GRADING,
    THREADS_WITHOUT_END,
    WRITES_EVERYWHERE,
)

READS_SECRETS = """\
# Tries to read what a submission must never see, and prints whatever it gets.
import glob, os
from coursekit import ROOT
for target in [ROOT / "solutions" / "sentiment" / "sentiment.ipynb", ROOT / "autograder" / "gradebook.db",
               ROOT / "autograder" / "nbgrader_config.py",
               ROOT / "autograder" / "coursegrader" / "hidden" / "sentiment.py",
               "/etc/shadow", os.path.expanduser("~/.bash_history")]:
    try:
        with open(target, "rb") as f:
            print("READ", target, f.read(3000))
    except OSError as err:
        print("could not read", target, type(err).__name__)
print("bundle seen from inside:", sorted(os.listdir(ROOT)))
import pandas as pd  # the test half of the reviews, with their labels?
reviews = pd.read_csv(ROOT / "data" / "imdb_reviews.csv.gz", keep_default_na=False)
print("test labels seen from inside:", sorted(set(reviews["sentiment"][25_000:])))
print("other submissions:", glob.glob(str(ROOT / "autograder" / "*" / "*")))"""

WRITES_INTO_BUNDLE = """\
# Tries to write where a submission must never write.
import os
from coursekit import ROOT
for folder in [ROOT / "solutions" / "sentiment", ROOT / "labs" / "sentiment", ROOT / "autograder",
               ROOT / "coursekit", ROOT / "data", os.path.abspath(".."), os.path.expanduser("~")]:
    try:
        with open(os.path.join(folder, "written-by-a-submission.txt"), "w") as f:
            f.write("a submission was here")
        print("WROTE into", folder)
    except OSError as err:
        print("could not write into", folder, type(err).__name__)"""

POISONS_SHARED_VALUES = """\
# Tries to change what the other students' kernels read: the cleaned reviews the grader computed
# once for the whole class (this kernel's read-only copy, next to its request file, and the cache).
import os, pathlib
from coursekit import ROOT
handed = pathlib.Path(os.environ.get("COURSEKIT_EVIDENCE", "/nonexistent")).parent / "shared"
targets = [handed / "imdb_kept_texts.json", handed / "planted.json",
           *sorted((ROOT / "autograder" / ".cache").glob("shared-*/imdb_kept_texts.json")),
           ROOT / "autograder" / ".cache" / "planted.json"]
for target in targets:
    try:
        with open(target, "w") as f:
            f.write('{"tuple": true, "items": [{"strings": []}, {"strings": []}, {"strings": []}]}')
        print("POISONED", target)
    except OSError as err:
        print("could not write", target, type(err).__name__)"""

ALLOCATES_WITHOUT_BOUND = """\
# Keeps every block it allocates: memory use grows until something stops it.
blocks = []
while True:
    blocks.append(np.ones(50_000_000))   # 400 MB each"""

PATCHES_NUMPY = """\
# Makes every mean equal to 1.0: an untrained model would "reach" 100% accuracy.
np.mean = lambda *args, **kwargs: 1.0"""

WARNS_BUT_CORRECT = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)
        self.unused = keras.layers.Dense(units)   # created, never called: Keras warns about its state

    def call(self, query, values, mask=None):
        scores = tf.einsum("bu,btu->bt", query, self.W_a(values))
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        return tf.reduce_sum(weights * values, axis=1), weights"""

ENDLESS_LOOP = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values, mask=None):
        step = 0
        while step >= 0:   # meant to stop somewhere; never does
            step += 1
        return values[:, 0], values[:, :, :1]"""


def hostile_class(assignment: str, released) -> dict[str, dict[str, object]]:
    """``{student: {file name: notebook, or text for a file that is not a notebook}}``."""
    if not solution_cells(released):
        return {}
    reference = reference_answer(assignment)
    name = f"{assignment}.ipynb"

    def with_answer(body):
        nb = copy.deepcopy(released)
        solution_cell(nb).source = body
        return nb

    edited = with_answer(reference)
    for cell in edited.cells:
        if is_check(cell):
            cell.source = 'print("all checks passed")  # edited by the student'
    deleted = with_answer(reference)
    deleted.cells = [c for c in deleted.cells if not is_check(c)]
    no_answer = copy.deepcopy(released)
    no_answer.cells = [c for c in no_answer.cells if c not in solution_cells(no_answer)]
    truncated = nbformat.writes(with_answer(reference))
    return {
        "warns-but-correct": {name: with_answer(WARNS_BUT_CORRECT)},
        "no-mask-parameter": {name: with_answer(GENERAL_SCORE_WITHOUT_MASK)},
        "edited-test-cells": {name: edited},
        "deleted-test-cells": {name: deleted},
        "misnamed-notebook": {f"{assignment.capitalize()} (1).ipynb": with_answer(reference)},
        "endless-loop": {name: with_answer(ENDLESS_LOOP)},
        "exits-kernel": {name: with_answer(_prepend("import os\nos._exit(1)", reference))},
        "allocates-without-bound": {name: with_answer(_prepend(ALLOCATES_WITHOUT_BOUND, reference))},
        "reads-secrets": {name: with_answer(_prepend(READS_SECRETS, reference))},
        "writes-into-bundle": {name: with_answer(_prepend(WRITES_INTO_BUNDLE, reference))},
        "poisons-shared-values": {name: with_answer(_prepend(POISONS_SHARED_VALUES, reference))},
        "patches-numpy": {name: with_answer(_prepend(PATCHES_NUMPY, reference))},
        "truncated-notebook": {name: truncated[: len(truncated) * 2 // 5]},
        "answer-deleted": {name: no_answer},
        "two-notebooks": {"draft.ipynb": with_answer(reference), "final.ipynb": with_answer(reference)},
        "no-notebook": {f"{assignment}.py": "# exported as a script instead of handing in the notebook\n"},
        # answers that attack the grader itself
        "restores-its-patch": {name: with_answer(RESTORES_ITS_PATCH)},
        "rewrites-grader-helpers": {name: with_answer(_prepend(REWRITES_GRADER_HELPERS, DOT_LAYER))},
        "label-oracle": {name: with_answer(_prepend(LABEL_ORACLE, reference))},
        "leaks-through-exception": {name: with_answer(LEAKS_THROUGH_EXCEPTION)},
        "leaks-through-output": {name: with_answer(LEAKS_THROUGH_OUTPUT)},
        "forges-evidence": {name: with_answer(FORGES_EVIDENCE)},
        "injects-script": {name: with_answer(_prepend(INJECTS_SCRIPT, reference))},
        "reads-row-order": {name: with_answer(_prepend(READS_ROW_ORDER, reference))},
        "pastes-test-labels": {name: with_answer(_prepend(pastes_test_labels(), reference))},
        # answers that try to spend the machine, or to outlive their grading
        "writes-everywhere": {name: with_answer(WRITES_EVERYWHERE)},
        "makes-files-without-end": {name: with_answer(_prepend(MAKES_FILES_WITHOUT_END, reference))},
        "threads-without-end": {name: with_answer(THREADS_WITHOUT_END)},
        "floods-the-grader": {name: with_answer(_prepend(FLOODS_THE_GRADER, reference))},
        "outlives-grading": {name: with_answer(_prepend(OUTLIVES_GRADING, reference))},
    }
