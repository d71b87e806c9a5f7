"""Formgrader's Autograde button grades with the limits `make grade` gives.

The button runs ``nbgrader autograde`` inside the TA's Jupyter server with the course configuration
and nothing on a command line. Here the same command, with the course configuration and no limits
of its own, grades one sentiment submission whose answer looks around and then never ends: it must
be stopped at the smoke profile's cell time limit (60 s, not nbgrader's 30 s) and must have run in
the sandbox, where the bundle's solutions/ do not exist.
"""

from __future__ import annotations

import nbformat
import pytest

from coursegrader.cells import META, solution_cell
from coursegrader.course import ROOT
from coursegrader.nbcommand import generate, nbgrader, workdir_options
from coursegrader.sandbox import decide, mode_from_env
from coursekit import profiles
from tests.support.notebook_cells import load

LOOKS_AROUND_THEN_LOOPS = f"""\
import os
print("solutions visible:", os.path.exists({str(ROOT / "solutions")!r}))
while True:
    pass
"""


def test_the_autograde_button_gets_the_profiles_time_limit_and_the_sandbox(tmp_path):
    sandboxed, why = decide(mode_from_env())
    if not sandboxed:
        pytest.skip(why)
    nb = load("sentiment", folder="labs")
    solution_cell(nb).source = LOOKS_AROUND_THEN_LOOPS
    handed_in = tmp_path / "submitted" / "alice" / "sentiment" / "sentiment.ipynb"
    handed_in.parent.mkdir(parents=True)
    nbformat.write(nb, handed_in)
    log = tmp_path / "nbgrader.log"
    generate("sentiment", tmp_path / "gradebook.db", log)

    code, seconds = nbgrader(
        "autograde",
        "sentiment",
        "--student",
        "alice",
        *workdir_options(tmp_path),
        profile="smoke",
        log=log,
        timeout=600,
    )

    assert code == 0, log.read_text(encoding="utf-8")[-3000:]
    graded = nbformat.read(tmp_path / "autograded" / "alice" / "sentiment" / "sentiment.ipynb", as_version=4)
    limit = profiles.select("sentiment", env={profiles.ENV_VAR: "smoke"}).cell_timeout
    assert limit != 30, "the smoke profile's cell limit must differ from nbgrader's default for this test"
    stopped = graded.metadata[META]["stopped"]
    assert stopped["why"] == "timed out" and f"longer than {limit} s" in stopped["detail"], stopped
    assert seconds > limit, f"graded in {seconds:.0f} s: the cell was stopped before its {limit} s"
    shown = "".join(o.get("text", "") for o in solution_cell(graded).outputs)
    assert "solutions visible: False" in shown, f"the answer did not run in the sandbox: {shown!r}"
