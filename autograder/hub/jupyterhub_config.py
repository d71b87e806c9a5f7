"""JupyterHub configuration of the course: students, the course staff (an instructor and TAs), one
shared nbgrader exchange. The quick start (docs/hub.md) installs it; tests/hub/test_hub.py runs it.

* Users log in with their account on the machine (PAM, JupyterHub's default): the members of
  COURSE_GROUP (students) and of COURSE_STAFF_GROUP (the instructor and the TAs). The instructor,
  COURSE_INSTRUCTOR, is the hub's admin. Each server runs as its user (CourseSpawner, a
  LocalProcessSpawner), so nbgrader takes the student id from the user name and every file a
  person writes is theirs.
* The staff's servers run from the course folder's own environment (``make setup`` in COURSE_DIR),
  open on that folder with the course configuration (autograder/nbgrader_config.py), so formgrader,
  ``make grade`` and the exchange targets work there for every member of the staff group. The
  folder belongs to that group with the setgid bit on its folders and is closed to everyone else
  (mode 2770); the servers' umask (002) keeps what they write writable by the group. They also get
  COURSE_HUB_RESERVE, so that ``make grade`` leaves the students their share of the machine.
* The students' servers run from COURSE_ENV, an environment every user can read that holds the
  pinned packages and the lab library (coursekit, data, fonts) but neither solutions/ nor the
  grader; their nbgrader configuration (course id, exchange, Validate's time limit) is
  autograder/hub/nbgrader_config.py, installed as /etc/jupyter/nbgrader_config.py (or in the folder
  COURSE_STUDENT_CONFIG_DIR names). Each runs in a cgroup capped at COURSE_STUDENT_MEMORY and
  COURSE_STUDENT_CPUS (coursespawner.py; "none" for no cap).
* Every server gets COURSE_EXCHANGE, the shared exchange folder (mode 777), and the hub's own
  COURSE_PROFILE and SANDBOX when they are set (one profile and one sandbox policy for the course).

Set these variables in the hub's environment, or edit the defaults below. The hub runs as root and
executes this file: install it (and coursespawner.py, next to it) where only root can change it,
e.g. /etc/jupyterhub/, never run it from the course folder the staff can write. Start the hub from
the folder that keeps its state (database, cookie secret), e.g. /srv/jupyterhub:
``jupyterhub -f /etc/jupyterhub/jupyterhub_config.py``; JupyterHub needs `configurable-http-proxy`
on PATH (npm). Serve it behind HTTPS on a real network.
"""

import grp
import os
import pwd
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coursespawner import CourseSpawner  # next to this file, where the hub finds it

c = get_config()

INSTRUCTOR = os.environ.get("COURSE_INSTRUCTOR", "instructor")
GROUP = os.environ.get("COURSE_GROUP", "seq2seq-attention")
STAFF_GROUP = os.environ.get("COURSE_STAFF_GROUP", "seq2seq-staff")
COURSE_DIR = os.environ.get("COURSE_DIR", "/srv/seq2seq-attention")
COURSE_ENV = os.environ.get("COURSE_ENV", "/opt/seq2seq-attention/venv")
EXCHANGE = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")
STUDENT_CONFIG_DIR = os.environ.get("COURSE_STUDENT_CONFIG_DIR", "")  # empty: /etc/jupyter
# Per student server: memory (RAM and swap) and CPU cores; "none" lifts the cap. The labs' kernels
# in the cpu profile need about 1.5 GiB each (autograder/coursegrader/workers.py): 4G leaves room
# for JupyterLab and a second notebook. Adjust both to the machine and the class (docs/hub.md).
STUDENT_MEMORY = os.environ.get("COURSE_STUDENT_MEMORY", "4G")
STUDENT_CPUS = os.environ.get("COURSE_STUDENT_CPUS", "1")
# What `make grade` leaves to the students on this machine (coursegrader/machine.py).
RESERVE = os.environ.get("COURSE_HUB_RESERVE", "cores=50% memory=50%")

c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://:8000")
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = {INSTRUCTOR}
c.Authenticator.allowed_users = {INSTRUCTOR}  # admin_users alone does not let the instructor in
c.LocalAuthenticator.allowed_groups = {GROUP, STAFF_GROUP}

c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.default_url = "/lab"
# Nothing else of the hub's (root's) environment; the course's profile and sandbox policy if set.
c.Spawner.env_keep = ["LANG", "LC_ALL", "COURSE_PROFILE", "SANDBOX"]
c.Spawner.start_timeout = 120  # the first start of a server imports TensorFlow's neighbours
c.Spawner.http_timeout = 120


def is_staff(name: str) -> bool:
    """The instructor, and every member of the staff group (as a supplementary or primary group)."""
    if name == INSTRUCTOR:
        return True
    try:
        staff = grp.getgrnam(STAFF_GROUP)
        return name in staff.gr_mem or pwd.getpwnam(name).pw_gid == staff.gr_gid
    except KeyError:
        return False


def _cap(value: str):
    return None if value.strip().lower() in ("", "none", "0") else value


def course_environment(spawner):
    """The staff's servers: the course folder and its configuration; students': COURSE_ENV, limits."""
    if is_staff(spawner.user.name):
        env_dir = os.path.join(COURSE_DIR, ".venv")
        spawner.notebook_dir = COURSE_DIR  # formgrader needs the course folder as the server's root
        spawner.umask = 0o002  # the group shares the course folder (whose own mode keeps others out)
        spawner.mem_limit, spawner.cpu_limit = None, None  # grading keeps to COURSE_HUB_RESERVE instead
        config = {"JUPYTER_CONFIG_PATH": os.path.join(COURSE_DIR, "autograder"), "COURSE_HUB_RESERVE": RESERVE}
    else:
        env_dir = COURSE_ENV
        memory, cpus = _cap(STUDENT_MEMORY), _cap(STUDENT_CPUS)
        spawner.mem_limit, spawner.cpu_limit = memory, float(cpus) if cpus else None
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
