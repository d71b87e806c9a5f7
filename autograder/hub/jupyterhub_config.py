"""JupyterHub configuration of the course: one instructor, students, one shared nbgrader exchange.

The course's hub recipe (README.md, "On a JupyterHub"), run as root by tests/hub/test_hub.py:

* Users log in with their account on the machine (PAM, JupyterHub's default): the instructor and
  the members of the unix group COURSE_GROUP. Each single-user server runs as that OS user
  (LocalProcessSpawner), so nbgrader takes the student id from the user name.
* The instructor's server runs from the course folder's own environment (``make setup`` in
  COURSE_DIR, a folder in the instructor's home that nobody else can read) and opens on that folder,
  with the course configuration (autograder/nbgrader_config.py): formgrader works there, and the
  instructor's ``make publish`` / ``collect`` / ``grade`` / ``return`` use the same exchange.
* Students' servers run from COURSE_ENV, an environment every user can read, which holds the
  pinned packages and the lab library (coursekit, data, fonts) but neither solutions/ nor the
  grader; their nbgrader configuration (course id, exchange, Validate's time limit) is
  autograder/hub/nbgrader_config.py, installed as /etc/jupyter/nbgrader_config.py (or in the folder
  COURSE_STUDENT_CONFIG_DIR names).
* Everyone's server gets COURSE_EXCHANGE, the shared exchange folder (mode 777).

Set these variables in the hub's environment, or edit the defaults below. Start the hub as root
from the folder that keeps its state (database, cookie secret), e.g. /srv/jupyterhub:
``jupyterhub -f /path/to/jupyterhub_config.py``; JupyterHub needs `configurable-http-proxy` on PATH
(npm). Serve it behind HTTPS on a real network.
"""

import os

c = get_config()

INSTRUCTOR = os.environ.get("COURSE_INSTRUCTOR", "instructor")
GROUP = os.environ.get("COURSE_GROUP", "seq2seq-attention")
COURSE_DIR = os.environ.get("COURSE_DIR") or os.path.expanduser(f"~{INSTRUCTOR}/seq2seq-attention")
COURSE_ENV = os.environ.get("COURSE_ENV", "/opt/seq2seq-attention/venv")
EXCHANGE = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")
STUDENT_CONFIG_DIR = os.environ.get("COURSE_STUDENT_CONFIG_DIR", "")  # empty: /etc/jupyter

c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://:8000")
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = {INSTRUCTOR}
c.Authenticator.allowed_users = {INSTRUCTOR}  # admin_users alone does not let the instructor in
c.LocalAuthenticator.allowed_groups = {GROUP}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing else of the hub's (root's) environment
c.Spawner.start_timeout = 120  # the first start of a server imports TensorFlow's neighbours
c.Spawner.http_timeout = 120


def course_environment(spawner):
    """The instructor's server: the course folder and its configuration; students': COURSE_ENV."""
    if spawner.user.name == INSTRUCTOR:
        env_dir = os.path.join(COURSE_DIR, ".venv")
        spawner.notebook_dir = COURSE_DIR  # formgrader needs the course folder as the server's root
        config = {"JUPYTER_CONFIG_PATH": os.path.join(COURSE_DIR, "autograder")}
    else:
        env_dir = COURSE_ENV
        config = {"JUPYTER_CONFIG_PATH": STUDENT_CONFIG_DIR} if STUDENT_CONFIG_DIR else {}
    spawner.cmd = [os.path.join(env_dir, "bin", "jupyterhub-singleuser")]
    # The environment's bin/ first: nbgrader runs `alembic`, kernels start from sys.executable.
    spawner.environment = {
        **spawner.environment,
        **config,
        "COURSE_EXCHANGE": EXCHANGE,
        "PATH": os.pathsep.join([os.path.join(env_dir, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
    }


c.Spawner.pre_spawn_hook = course_environment
