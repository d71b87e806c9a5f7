"""nbgrader configuration of the course (used by `make release`, `make grade` and formgrader).

The course root is the repository: instructors' notebooks live in `solutions/`,
`make release` writes the student versions to `labs/`, and everything the
autograder produces stays under `autograder/`. The Makefile points nbgrader
here with JUPYTER_CONFIG_PATH=autograder.
"""

import os

c = get_config()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.root = root
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "autograder", "gradebook.db")

# Never copy trained weights or generated images when releasing or grading: the
# autograder always trains the submitted code itself.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "checkpoints",
    "attention_heatmap.png",
]

# Students may add cells of their own; grading still restores every locked cell.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# --- Autograding: answer-only, sandboxed, verdicts outside the kernel (autograder/coursegrader/) -------
# Whoever runs `nbgrader autograde` (make grade, or formgrader's button) gets the same pipeline:
# the submission is rebuilt from the released lab with only its answer cells; every check's
# inputs are drawn afresh; the kernel runs in the sandbox, with the held-out truth withheld, and
# its check cells only hand evidence out; the verdicts are computed here, outside the kernel.
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from coursegrader.execute import GradeExecute
from coursegrader.lateness import CourseLatePenalty
from coursegrader.publish import ApplyTerm
from coursegrader.rebuild import RebuildFromRelease
from coursegrader.requests import DrawRequests
from coursegrader.verdicts import ComputeVerdicts

c.Autograde.sanitize_preprocessors = [
    RebuildFromRelease,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    DrawRequests,
    GradeExecute,
    ComputeVerdicts,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    ApplyTerm,
    AssignLatePenalties,
    CheckCellMetadata,
]

# --- The term: due dates, extensions, late policy (autograder/calendar.toml, extensions.csv) --------
# ApplyTerm (above) puts the lab's due date and the student's extension into the gradebook, and
# nbgrader's AssignLatePenalties asks the course's plugin, which reads the [late] table of
# calendar.toml: formgrader's autograde and `make grade` (coursegrader/settle.py) give the same
# penalty. `make release` writes each lab's due date into its first cell (StampDueDate, before
# nbgrader locks the cell); formgrader shows dates in the course's time zone.
c.AssignLatePenalties.plugin_class = CourseLatePenalty

from nbgrader.converters import GenerateAssignment

from coursegrader.calendar import TermFileError, load_calendar
from coursegrader.publish import StampDueDate

c.GenerateAssignment.preprocessors = [StampDueDate, *GenerateAssignment.class_traits()["preprocessors"].default()]
try:
    c.NbGraderAPI.timezone = load_calendar(os.path.join(root, "autograder", "calendar.toml")).timezone.key
except TermFileError:  # `make grade` and `make publish` stop on it and say what to fix
    pass

# --- One set of limits, whichever way grading starts --------------------------------------------
# `make grade` gives each unit its limits on nbgrader's command line (coursegrader/unit.py). Without
# them (formgrader's Autograde button, or `nbgrader autograde` typed by hand) the defaults below are
# the same: each lab's cell and notebook time limits from the profile COURSE_PROFILE selects
# (GradeExecute's default, coursekit/profiles.py: not nbgrader's 30 s per cell), the sandbox as
# $SANDBOX asks (auto / require / off), and a memory cap per kernel sized as `make grade` sizes it
# for one worker (the machine less the grader's share and, on a hub, the students' reserve).
from coursegrader import machine, sandbox
from coursegrader.errors import ConfigurationError

c.GradeExecute.timeout = None  # the graded lab's profile's cell_timeout
c.GradeExecute.notebook_timeout = None  # and its notebook_timeout
try:
    c.GradeExecute.sandbox = sandbox.mode_from_env()
except ValueError:  # a misspelt SANDBOX: the strictest mode, whose refusal says what to install
    c.GradeExecute.sandbox = "require"
try:
    c.SandboxedKernelManager.memory_limit = machine.default_memory_limit(1)
except ConfigurationError:  # a misspelt COURSE_HUB_RESERVE (`make grade` names it): no reserve
    c.SandboxedKernelManager.memory_limit = machine.default_memory_limit(1, machine.total_memory(env={}))

# --- A course folder shared by the staff group (an instructor and TAs on a hub: docs/hub.md) -----
# Its setgid bit says so: nbgrader then writes group-writable files (submitted/, feedback, the
# exchange's copies), and the gradebook is made group-writable before SQLite first writes it, so
# every member of the staff group can grade and save hand grades (coursegrader/groupshare.py).
from coursegrader.groupshare import create_gradebook, is_group_shared

c.CourseDirectory.groupshared = is_group_shared()
create_gradebook(os.path.join(root, "autograder", "gradebook.db"))  # SQLite's own would be 644

# --- Validate: the students' Validate button and `nbgrader validate` ----------------------------
# Validate runs the whole notebook, training included, and nbgrader's default limit of 30 s per
# cell stops it in the training cell. Every cell gets instead the longest cell time limit, over
# the labs, of the profile COURSE_PROFILE selects (coursekit/profiles.py; `auto` is resolved
# without importing TensorFlow). Only the Validator's Execute step is configured, so autograding
# keeps the limits `make grade` gives it.
from coursekit import profiles as _profiles

try:
    c.Validator.Execute.timeout = _profiles.validate_cell_timeout()
except ValueError:  # a misspelt COURSE_PROFILE: the notebook's first cells stop and say so
    c.Validator.Execute.timeout = max(
        settings["cell_timeout"] for lab in _profiles.SETTINGS.values() for settings in lab.values()
    )

# --- The exchange: make publish / collect / return, formgrader's buttons, fetch and submit ------
# One laptop: the exchange is autograder/exchange/ in this bundle (git-ignored); `make ...
# EXCHANGE=folder` moves it by setting COURSE_EXCHANGE. On a JupyterHub the hub gives every server
# COURSE_EXCHANGE, the one shared folder, and the Makefile keeps it (docs/hub.md).
c.CourseDirectory.course_id = "seq2seq-attention"
c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or os.path.join(root, "autograder", "exchange")
# Collect knows who hands in: a folder is taken only from the student it names, and only their own
# regular files, never a link or a special file; each refusal is reported by name and reason, and
# the student's latest submission that passes is collected (autograder/coursegrader/exchange/).
# Submit refuses to hand in under another user's name (coursekit/handin.py).
c.ExchangeFactory.collect = "coursegrader.exchange.collect.OwnedCollect"
c.ExchangeFactory.submit = "coursekit.handin.OwnNameSubmit"
