"""The students' Validate button: `nbgrader validate` with the course configuration.

Validate runs the whole notebook, training included. nbgrader's default limit of 30 s per cell
stopped it in the training cell; the course configuration (autograder/nbgrader_config.py) gives
the Validator's cells the longest cell time limit of the active profile instead.

To stay short these tests validate in the smoke profile, where the training cell takes seconds,
far from 30 s. So the limit is checked twice on its own: in the loaded configuration, and with a
graded cell that sleeps past 30 s. The two sentiment notebooks are then validated for what a
student sees. In smoke the reference solution fails the accuracy check, on purpose (the model
trains for seconds on 512 reviews); for it we therefore expect exactly that one failure, with the
hint that explains it, and every other check passing. In the cpu profile Validate reports success
on it (docs/students.md, "Validate").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import pytest
from nbgrader.preprocessors import Execute
from nbgrader.validator import Validator
from traitlets.config.loader import PyFileConfigLoader

from coursekit import ROOT, profiles
from tests.support.notebook_cells import cells_by_id, load, released_with_reference_answer

CONFIG_DIR = ROOT / "autograder"
SUCCESS = "Success! Your notebook passes all the tests."


def course_config(env: dict[str, str]):
    """The course configuration as nbgrader loads it, with ``env`` as the environment."""
    old = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return PyFileConfigLoader("nbgrader_config.py", path=str(CONFIG_DIR)).load_config()
    finally:
        os.environ.clear()
        os.environ.update(old)


def longest_cell_timeout(profile: str) -> int:
    return max(profiles.SETTINGS[lab][profile]["cell_timeout"] for lab in profiles.SETTINGS)


def validate(path, profile="smoke", timeout=240) -> str:
    """Run `nbgrader validate` as the Validate button does; return what it prints."""
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(CONFIG_DIR), TF_CPP_MIN_LOG_LEVEL="2")
    env[profiles.ENV_VAR] = profile
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(path)],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def failed_checks(output: str, assignment: str = "sentiment") -> set[str]:
    """grade_ids of the checks that a validate report lists as failed (it prints their source)."""
    number = re.search(r"VALIDATION FAILED ON (\d+) CELL", output)
    failed = {
        grade_id
        for grade_id, cell in cells_by_id(load(assignment, "labs")).items()
        if cell.metadata["nbgrader"].get("grade") and cell.source.splitlines()[0][:70] in output
    }
    assert number and int(number.group(1)) == len(failed), output
    return failed


@pytest.mark.parametrize("profile", profiles.NAMES)
def test_validate_gets_the_longest_cell_time_limit_of_the_profile(profile):
    config = course_config(dict(os.environ, **{profiles.ENV_VAR: profile}))
    assert config.Validator.Execute.timeout == longest_cell_timeout(profile) > 30
    # nbgrader builds its Execute step with the Validator as parent: the limit reaches it.
    assert Execute(parent=Validator(config=config)).timeout == longest_cell_timeout(profile)


def test_auto_profile_and_a_misspelt_one():
    assert profiles.validate_cell_timeout({}, gpu=False) == longest_cell_timeout("cpu")
    assert profiles.validate_cell_timeout({profiles.ENV_VAR: "auto"}, gpu=True) == longest_cell_timeout("full")
    with pytest.raises(ValueError, match="not a profile"):
        profiles.validate_cell_timeout({profiles.ENV_VAR: "gpu"})
    config = course_config(dict(os.environ, **{profiles.ENV_VAR: "gpu"}))
    assert config.Validator.Execute.timeout == max(map(longest_cell_timeout, profiles.NAMES))


def test_validate_lets_a_cell_run_past_30_seconds(tmp_path):
    """A graded cell of 31 s finishes: nbgrader's default of 30 s per cell would stop it."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        '"""Check that a slow cell may finish."""\nimport time\ntime.sleep(31)\nprint("finished")'
    )
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "slow_check",
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
    }
    nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "slow.ipynb"
    nbformat.write(nb, path)
    output = validate(path)
    assert SUCCESS in output and "Timeout" not in output, output


def test_validate_on_the_reference_solution_fails_only_the_smoke_accuracy_check(tmp_path):
    path = tmp_path / "sentiment.ipynb"
    nbformat.write(released_with_reference_answer("sentiment"), path)
    output = validate(path)
    assert failed_checks(output) == {"test_accuracy_at_least_0_80"}, output
    assert "profile 'smoke' trains for seconds" in output
    assert "Timeout" not in output


def test_validate_names_the_failing_checks_of_the_untouched_lab(tmp_path):
    path = tmp_path / "sentiment.ipynb"
    nbformat.write(load("sentiment", "labs"), path)
    output = validate(path)
    checks = {
        grade_id
        for grade_id, cell in cells_by_id(load("sentiment", "labs")).items()
        if cell.metadata["nbgrader"].get("grade")
    }
    # Every check needs the student's layer, except the hidden one, which is not in the released
    # lab: its cell holds only its docstring and so passes.
    assert failed_checks(output) == checks - {"luong_matches_general_score"}, output
    assert "NotImplementedError" in output
