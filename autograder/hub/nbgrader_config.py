"""The students' nbgrader configuration on the course's JupyterHub (see jupyterhub_config.py).

Install it as /etc/jupyter/nbgrader_config.py, where every user's server reads it. It names the
course and the shared exchange folder (the hub gives every server COURSE_EXCHANGE), and gives the
Validate button the time limit the course configuration gives it (autograder/nbgrader_config.py):
nbgrader's default of 30 s per cell would stop Validate in the training cell. Submit hands in
under the student's own name only.
"""

import importlib.util
import os

c = get_config()

c.CourseDirectory.course_id = "seq2seq-attention"
c.Exchange.root = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")

try:  # the lab library is in the students' environment; COURSE_PROFILE picks the profile
    from coursekit import profiles

    c.Validator.Execute.timeout = profiles.validate_cell_timeout()
except (ImportError, ValueError):  # no lab library, or a misspelt COURSE_PROFILE
    c.Validator.Execute.timeout = 3600  # the cpu profile's longest cell

# Hand in under your own name only (coursekit/handin.py); where the grader is installed too (the
# instructor's server), collect that knows who hands in (autograder/coursegrader/exchange/). The
# instructor's course configuration sets both as well.
if importlib.util.find_spec("coursekit") is not None:
    c.ExchangeFactory.submit = "coursekit.handin.OwnNameSubmit"
if importlib.util.find_spec("coursegrader") is not None:
    c.ExchangeFactory.collect = "coursegrader.exchange.collect.OwnedCollect"
