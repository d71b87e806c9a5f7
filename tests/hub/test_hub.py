"""A term on a real JupyterHub, run from the instructors' quick start (docs/hub.md) as written.

The deployment follows the quick start under one temporary folder: a students' group and a staff
group; an instructor and a TA (staff) and two students, real users with homes of mode 700 and
passwords (the hub logs them in through PAM); the course folder, a copy of this bundle owned by
the staff group (setgid, group-writable, closed to others: mode 2770) with its own environment as ``make
setup`` leaves it; the students' environment (the pinned packages and the lab library: no
solutions, no grader) and their nbgrader configuration where everyone can read them; the hub's
configuration installed where only root can change it; the exchange (mode 777). JupyterHub runs as
root with its proxy on 127.0.0.1 and starts each server as its user; the hub's environment sets
COURSE_PROFILE=smoke (the quick start's optional course profile) so that grading takes seconds.

The term: the instructor logs in and, in their server's environment and course folder (what a
terminal of their JupyterLab has), runs ``make publish``; bob logs in (his server runs within the
students' memory and CPU caps), sees the labs in the Assignment List (screenshot 1), fetches the
NMT lab there, writes an answer graded by hand and submits it there; alice and bob fetch and
submit the sentiment lab with nbgrader's commands, as themselves; neither can list the inbound
folder or read the other's home or the course folder. The instructor runs ``make collect`` and
``make grade``. The TA logs in as themselves, gives bob's written answer its points in formgrader
(screenshot 2) and runs ``make grade``: the points reach grades.csv. The instructor runs ``make
return``; each student fetches their own feedback. Every make command is the quick start's, with no
variable added.

Both environments are this bundle's .venv in hard links (no copy), run by a Python every user can
execute. Needs root, useradd, JupyterHub, Chromium, configurable-http-proxy and playwright-core
(npm): see .ci/run. Without them it is skipped, unless COURSE_HUB_TEST=require (CI). Screenshots
are also copied to /tmp/hub-screenshots/; COURSE_HUB_KEEP=1 keeps the deployment. About 7 minutes
on a busy 2-core machine.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pwd
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from coursegrader.cells import reference_answer, solution_cell
from coursegrader.course import ROOT
from coursegrader.table import read_expected
from coursekit import profiles
from tests.support.notebook_cells import cells_by_id, released_with_reference_answer

COURSE_ID = "seq2seq-attention"
INSTRUCTOR, TA, STUDENTS = "instructor", "ta", ("alice", "bob")
STAFF = (INSTRUCTOR, TA)
GROUP = "seq2seq-hubtest"  # the students' unix group (COURSE_GROUP)
STAFF_GROUP = "seq2seq-hubstaff"  # the course staff's (COURSE_STAFF_GROUP): owns the course folder
MARK = "seq2seq-attention hub test"  # the comment of every user this test creates
HUB = ROOT / "autograder" / "hub"
SCREENSHOTS = Path("/tmp/hub-screenshots")
ANSWER = "answer_beam_width"  # bob's written answer in the nmt lab, graded by hand (2 points)
BOB_WRITES = (
    "A wider beam keeps more partial translations alive at each step, so the decoder "
    "can recover from a first word that looked best but leads nowhere; it costs time."
)
STUDENT_CONFIG = (
    "import json; from nbgrader.apps.baseapp import NbGrader; app = NbGrader(); "
    "app.load_config_file(); c = app.config; print(json.dumps([c.CourseDirectory.course_id, "
    "c.Exchange.root, c.Validator.Execute.timeout]))"
)  # what nbgrader reads as a student
PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"
STUDENT_MEMORY, STUDENT_CPUS = 4 * 2**30, 1.0  # the hub configuration's defaults

sys.path.insert(0, str(HUB))
import coursespawner  # noqa: E402 - as the hub does: from the folder of its configuration


def sh(cmd, *, check=True, timeout=600, **kw) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"`{' '.join(cmd)}` exited with {proc.returncode}:\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}"
        )
    return proc


def missing() -> list[str]:
    found = [] if os.geteuid() == 0 else ["root (the hub starts servers as other users)"]
    found += [
        tool
        for tool in ("useradd", "userdel", "groupadd", "chpasswd", "runuser", "make", "node", "configurable-http-proxy")
        if shutil.which(tool) is None
    ]
    if not Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")).exists():
        found.append("chromium")
    if (
        shutil.which("node")
        and sh(
            ["node", "-e", "require.resolve('playwright-core')"],
            check=False,
            env={**os.environ, "NODE_PATH": node_path()},
        ).returncode
        != 0
    ):
        found.append("playwright-core")
    if not (Path(sys.prefix) / "bin" / "jupyterhub").exists():
        found.append("jupyterhub in the bundle's environment")
    return found


def node_path() -> str:
    found = shutil.which("npm") and sh(["npm", "root", "-g"], check=False).stdout.strip()
    return os.pathsep.join(p for p in (os.environ.get("NODE_PATH"), found) if p)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def link_tree(source: Path, dest: Path) -> Path:
    """A copy of ``source`` made of hard links (a plain copy on another file system)."""
    if sh(["cp", "-al", os.path.realpath(source), dest], check=False).returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        sh(["cp", "-a", os.path.realpath(source), dest])
    return dest


def replace_file(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write ``path`` as a new file: in a linked tree it is a hard link to the bundle's own file."""
    path.unlink(missing_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    path.chmod(mode)


def runnable_python(top: Path) -> str:
    """The bundle's Python, where every user can run it: itself if no folder on its path is closed
    to others, else a linked copy under ``top`` whose program finds libpython next to itself (a
    pyenv Python in root's home, say; Debian 12's python3.11 is 3.11.2, too old for the pins)."""
    program = Path(os.path.realpath(sys._base_executable))
    if all(p.stat().st_mode & 0o001 for p in (program, *program.parents)):
        return str(program)
    base = Path(os.path.realpath(sys.base_prefix))
    linked = link_tree(base, top / "python") / program.relative_to(base)
    (top / "python").chmod(0o755)
    old, new = f"{base}/lib".encode() + b"\0", b"$ORIGIN/../lib"  # its RUNPATH, if it has one
    replace_file(linked, linked.read_bytes().replace(old, new + b"\0" * (len(old) - len(new))), 0o755)
    return str(linked)


def linked_environment(dest: Path, python: str) -> Path:
    """``dest``: a virtual environment with the bundle's packages (hard links) run by ``python``."""
    source = Path(sys.prefix)
    link_tree(source, dest)
    version = ".".join(map(str, sys.version_info[:3]))
    replace_file(
        dest / "pyvenv.cfg",
        f"home = {Path(python).parent}\ninclude-system-site-packages = false\n"
        f"version = {version}\nexecutable = {python}\n",
    )
    for script in (dest / "bin").iterdir():
        if script.name.startswith("python"):
            script.unlink()
            script.symlink_to(python)
        elif script.is_file() and not script.is_symlink() and str(source).encode() in script.read_bytes():
            replace_file(script, script.read_bytes().replace(str(source).encode(), str(dest).encode()), 0o755)
    return dest


def site_packages(env: Path) -> Path:
    return env / "lib" / PYTHON / "site-packages"


class Deployment:
    """The machine as the recipe leaves it, under one temporary folder ``top``."""

    def __init__(self, top: Path):
        self.top, self.homes = top, top / "home"
        self.exchange = top / "srv" / "nbgrader" / "exchange"
        self.opt = top / "opt" / "seq2seq-attention"
        self.student_config = top / "etc" / "jupyter"
        self.hub_config = top / "etc" / "jupyterhub"
        self.course = top / "srv" / "seq2seq-attention"
        self.passwords = {name: secrets.token_urlsafe(12) for name in (*STAFF, *STUDENTS)}

    def home(self, user: str) -> Path:
        return self.homes / user

    def build(self) -> None:
        python = runnable_python(self.top)
        for folder in (self.homes, self.opt, self.student_config, self.hub_config):
            folder.mkdir(parents=True, mode=0o755)
        self.exchange.mkdir(parents=True)
        self.exchange.chmod(0o777)  # the recipe: everyone writes here, nbgrader sets the rest
        sh(["groupadd", GROUP])
        sh(["groupadd", STAFF_GROUP])
        for user in (*STAFF, *STUDENTS):  # the hub lets in both groups' members
            sh(
                [
                    "useradd",
                    "--create-home",
                    "--home-dir",
                    self.home(user),
                    "--comment",
                    MARK,
                    "--shell",
                    "/bin/bash",
                    "--groups",
                    GROUP if user in STUDENTS else STAFF_GROUP,
                    user,
                ]
            )
            self.home(user).chmod(0o700)  # Debian's useradd leaves homes readable by all
        sh(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in self.passwords.items()))

        # The course folder: the staff group's, setgid; the bundle in it as the instructor's
        # `umask 002 && git clone` leaves it (group-writable; the folder itself closed to others), and its
        # environment as `make setup` leaves it.
        sh(["install", "-d", "-o", INSTRUCTOR, "-g", STAFF_GROUP, "-m", "2770", self.course])
        listed = sh(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z"]).stdout
        for rel in filter(None, listed.split("\0")):
            if (ROOT / rel).is_file():
                (self.course / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, self.course / rel)
        sh(["chown", "-R", f"{INSTRUCTOR}:{STAFF_GROUP}", self.course])
        sh(["chmod", "-R", "u+rwX,g+rwX", self.course])
        self.course.chmod(0o2770)
        sh(["find", self.course, "-type", "d", "-exec", "chmod", "g+s", "{}", "+"])
        venv = linked_environment(self.course / ".venv", python)  # stays root's: only linked
        for finder in site_packages(venv).glob("__editable__*finder.py"):  # coursekit, grader: the copy's
            replace_file(finder, finder.read_text(encoding="utf-8").replace(f"'{ROOT}/", f"'{self.course}/"))
        replace_file(venv / ".installed", "")  # newer than environment.yml: make does not rebuild it

        # The students' side: packages and the lab library, and their nbgrader configuration.
        library = self.opt / "lab-library"
        for name in ("coursekit", "data", "fonts"):
            shutil.copytree(self.course / name, library / name, ignore=shutil.ignore_patterns("__pycache__"))
        venv = linked_environment(self.opt / "venv", python)
        for editable in site_packages(venv).glob("__editable__*"):
            editable.unlink()
        replace_file(site_packages(venv) / "seq2seq-attention.pth", f"{library}\n")
        shutil.copy(HUB / "nbgrader_config.py", self.student_config / "nbgrader_config.py")
        for name in ("jupyterhub_config.py", "coursespawner.py"):  # where only root can change them
            shutil.copy(self.course / "autograder" / "hub" / name, self.hub_config / name)

    def run(self, user: str, *cmd, cwd: Path | None = None, check=True, **kw) -> subprocess.CompletedProcess:
        """``cmd`` as ``user``, with that user's environment only (as their server has it)."""
        venv = self.course / ".venv" if user in STAFF else self.opt / "venv"
        env = {
            "HOME": self.home(user),
            "USER": user,
            "LOGNAME": user,
            "LANG": "C.UTF-8",
            "PATH": f"{venv}/bin:/usr/local/bin:/usr/bin:/bin",
            "COURSE_EXCHANGE": self.exchange,
        }
        if user not in STAFF:
            env["JUPYTER_CONFIG_PATH"] = self.student_config
        started = time.monotonic()
        proc = sh(
            ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *cmd],
            cwd=cwd or self.home(user),
            check=check,
            **kw,
        )
        print(f"{time.monotonic() - started:6.1f} s  {user}: {' '.join(map(str, cmd))[:100]}")
        return proc

    def make(self, user: str, target: str) -> str:
        """``make <target>`` as the quick start has it, run by a staff member as a terminal of their
        JupyterLab runs it: in the course folder, with their server's environment and umask."""
        pid = server_pid(user)
        env = dict(item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
        umask = re.search(r"^Umask:\s*(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1)
        started = time.monotonic()
        proc = sh(
            [
                "runuser",
                "-u",
                user,
                "--",
                "env",
                "-i",
                *[f"{k}={v}" for k, v in env.items()],
                "sh",
                "-c",
                f"umask {umask} && exec make --no-print-directory {target}",
            ],
            cwd=self.course,
        )
        print(f"{time.monotonic() - started:6.1f} s  {user}: make {target}")
        return proc.stdout + proc.stderr

    def write_notebook(self, user: str, path: Path, nb) -> None:
        """``user`` saves ``nb`` at ``path`` (as their editor would: the file stays theirs)."""
        self.run(user, "tee", path, input=nbformat.writes(nb))

    def hand_grade(self, student: str, assignment: str, grade_id: str) -> float | None:
        """The points given by hand, as the course's gradebook holds them (read by the instructor)."""
        code = (
            "import sys; from nbgrader.api import Gradebook\n"
            "with Gradebook(sys.argv[1]) as gb:\n    print(gb.find_grade(*sys.argv[2:]).manual_score)"
        )
        db = f"sqlite:///{self.course / 'autograder' / 'gradebook.db'}"
        found = self.run(INSTRUCTOR, "python", "-c", code, db, grade_id, assignment, assignment, student)
        return None if found.stdout.split()[-1] == "None" else float(found.stdout.split()[-1])

    def denied(self, user: str, *cmd) -> None:
        proc = self.run(user, *cmd, check=False)
        assert proc.returncode != 0 and "Permission denied" in proc.stderr, (
            f"{user} ran `{' '.join(map(str, cmd))}` (exit {proc.returncode}), which must be denied:\n"
            f"{proc.stdout[:2000]}{proc.stderr[:2000]}"
        )


def server_pid(user: str) -> int:
    """The pid of ``user``'s running single-user server."""
    found = sh(["pgrep", "-o", "-u", user, "-f", "jupyterhub-singleuser"], check=False).stdout.split()
    assert found, f"{user} has no running server"
    return int(found[0])


def remove_users(leftovers: bool = False) -> None:
    """This test's users (their processes first: every one was started by this test) and groups.
    ``leftovers``: of an earlier run that could not clean up; skip if a user is somebody else's."""
    for user in (*STAFF, *STUDENTS):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        if leftovers and entry.pw_gecos != MARK:
            pytest.skip(f"user {user} exists on this machine and is not this test's")
        for pid in sh(["pgrep", "-u", entry.pw_uid], check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        sh(["userdel", "--force", user], check=False)
    for group in (GROUP, STAFF_GROUP):
        sh(["groupdel", group], check=False)


class Hub:
    """JupyterHub as root with the course's configuration, on free ports of 127.0.0.1."""

    def __init__(self, d: Deployment, log: Path):
        self.url, self.log = f"http://127.0.0.1:{free_port()}", log
        state = d.top / "jupyterhub"  # its database and cookie secret: root's only
        state.mkdir(mode=0o700)
        venv = d.opt / "venv"
        proxy = Path(shutil.which("configurable-http-proxy")).parent
        env = {
            "PATH": f"{venv}/bin:{proxy}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(state),
            "COURSE_INSTRUCTOR": INSTRUCTOR,
            "COURSE_GROUP": GROUP,
            "COURSE_STAFF_GROUP": STAFF_GROUP,
            "COURSE_PROFILE": "smoke",  # the course's profile, which every server gets
            **({"SANDBOX": os.environ["SANDBOX"]} if os.environ.get("SANDBOX") else {}),
            "COURSE_DIR": str(d.course),
            "COURSE_ENV": str(venv),
            "COURSE_EXCHANGE": str(d.exchange),
            "COURSE_STUDENT_CONFIG_DIR": str(d.student_config),
            "COURSE_HUB_URL": self.url,
        }
        self.proc = subprocess.Popen(
            [
                venv / "bin" / "jupyterhub",
                "-f",
                d.hub_config / "jupyterhub_config.py",
                f"--JupyterHub.hub_port={free_port()}",
                f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
            ],
            cwd=state,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            assert self.proc.poll() is None, f"JupyterHub exited with {self.proc.returncode}:\n{self.tail()}"
            assert time.monotonic() < deadline, f"JupyterHub did not answer on {self.url} in 90 s:\n{self.tail()}"
            try:
                with urllib.request.urlopen(f"{self.url}/hub/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the hub stops the users' servers and its proxy
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Browser:
    """Headless Chromium, driven through tests/hub/browser_bridge.cjs (Playwright)."""

    def __init__(self, shots: Path):
        self.shots, self.hub = shots, None
        self.proc = subprocess.Popen(
            ["node", Path(__file__).with_name("browser_bridge.cjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(shots / "browser.log").open("w"),
            text=True,
            env={**os.environ, "NODE_PATH": node_path()},
        )
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.answers.put(line) for line in self.proc.stdout], daemon=True).start()

    def send(self, command: dict, timeout: float) -> dict:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        try:
            return json.loads(self.answers.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"the browser did not answer {command} in {timeout} s") from None

    def do(self, op: str, **args):
        """Run ``op``; a ``timeout`` in ``args`` is the browser's, in ms (default 60 s)."""
        answer = self.send({"op": op, **args}, args.get("timeout", 60_000) / 1000 + 90)
        if not answer["ok"]:
            shot = self.shots / f"failed-{op}-{time.monotonic_ns()}.png"
            self.send({"op": "screenshot", "path": str(shot)}, 60)
            hub = f"\nJupyterHub's log ends with:\n{self.hub.tail()}" if self.hub else ""
            raise AssertionError(f"browser: {op} {args} failed: {answer['error']} (page: {shot}){hub}")
        return answer["value"]

    def log_in(self, hub: Hub, user: str, password: str) -> None:
        started, self.hub = time.monotonic(), hub
        self.do("session")
        self.do("goto", url=f"{hub.url}/hub/login")
        self.do("fill", selector="#username_input", value=user)
        self.do("fill", selector="#password_input", value=password)
        self.do("click", selector="#login_submit")
        # the hub starts the server (as that user) and sends the browser on to its JupyterLab
        self.do("wait", selector=".lm-MenuBar-item:has-text('Nbgrader')", timeout=120_000)
        if self.do("clickIfShown", selector=".jp-toast-button:text-is('No')", timeout=10_000):  # Jupyter news?
            self.do("wait", selector=".jp-toast-button", state="hidden")
        print(f"{time.monotonic() - started:6.1f} s  {user} logs in, their server starts, JupyterLab shows")

    def screenshot(self, name: str) -> None:
        self.do("screenshot", path=str(self.shots / name))
        SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copy(self.shots / name, SCREENSHOTS / name)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def course_hub(tmp_path_factory):
    """The deployment and its running hub; afterwards the users, group and folders are gone."""
    lacking = missing()
    if lacking:
        message = "the hub test needs " + ", ".join(lacking) + " (see .ci/run)"
        if os.environ.get("COURSE_HUB_TEST") == "require":
            pytest.fail(message + "; COURSE_HUB_TEST=require")
        pytest.skip(message)
    remove_users(leftovers=True)
    logs = tmp_path_factory.mktemp("hub")
    top = Path(tempfile.mkdtemp(prefix="seq2seq-hub-"))  # not under pytest's folder: root's only
    top.chmod(0o755)
    deployment, hub = Deployment(top), None
    try:
        started = time.monotonic()
        deployment.build()
        print(f"{time.monotonic() - started:6.1f} s  users, course folder, environments, exchange")
        hub = Hub(deployment, logs / "jupyterhub.log")
        yield deployment, hub, logs
    finally:
        if hub is not None:
            hub.stop()
        if os.environ.get("COURSE_HUB_KEEP"):  # to look around after a failure; the next run cleans up
            print(f"COURSE_HUB_KEEP: kept {top} and the users {', '.join((*STAFF, *STUDENTS))}")
        else:
            remove_users()
            shutil.rmtree(top, ignore_errors=True)  # hard links only: the bundle's .venv stays


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_a_term_on_jupyterhub_from_the_quick_start_with_a_ta(course_hub):
    d, hub, logs = course_hub
    inbound = d.exchange / COURSE_ID / "inbound"
    for user in (*STAFF, *STUDENTS):  # every user can run their environment
        d.run(user, "python", "-c", "import ssl, soupsieve, coursekit, nbgrader")
    seen = json.loads(d.run("alice", "python", "-c", STUDENT_CONFIG).stdout)
    assert seen == [COURSE_ID, str(d.exchange), profiles.validate_cell_timeout(env={})], seen

    browser = Browser(logs)
    try:
        # The instructor logs in and publishes the labs: `make publish`, nothing added.
        browser.log_in(hub, INSTRUCTOR, d.passwords[INSTRUCTOR])
        d.make(INSTRUCTOR, "publish")
        released = sorted(p.name for p in (d.exchange / COURSE_ID / "outbound").iterdir())
        assert released == ["nmt", "nmt_luong", "sentiment"], released
        assert coursespawner.limits_of(server_pid(INSTRUCTOR)) == (None, None), "the staff's servers are not capped"

        # bob, in the browser: the Assignment List shows the three labs; he fetches the NMT lab.
        browser.log_in(hub, "bob", d.passwords["bob"])
        assert coursespawner.limits_of(server_pid("bob")) == (STUDENT_MEMORY, STUDENT_CPUS), (
            "bob's server is not capped"
        )
        browser.do("click", selector=".lm-MenuBar-item:has-text('Nbgrader')")
        browser.do("click", selector=".lm-Menu-item:has-text('Assignment List')")
        row = (
            "xpath=//div[@id='{}_assignments_list']/div[contains(@class, 'list_item')]"
            "[.//span[contains(@class, 'item_name') and normalize-space()='{}']]"
        )
        for lab in released:
            browser.do("wait", selector=row.format("released", lab))
        browser.screenshot("1-assignment-list.png")
        browser.do("click", selector=row.format("released", "nmt") + "//button[text()='Fetch']")
        browser.do("wait", selector=row.format("fetched", "nmt"))
        notebook = d.home("bob") / "nmt" / "nmt.ipynb"
        assert notebook.owner() == "bob", f"{notebook} belongs to {notebook.owner()}"

        # He answers a question graded by hand, and submits the lab there.
        nb = nbformat.read(notebook, as_version=4)
        assert ANSWER in cells_by_id(nb), f"the released nmt lab has no {ANSWER} cell (make release)"
        cells_by_id(nb)[ANSWER].source = BOB_WRITES
        d.write_notebook("bob", notebook, nb)
        browser.do("click", selector=row.format("fetched", "nmt") + "//button[text()='Submit']")
        browser.do("wait", selector=row.format("submitted", "nmt"))
        browser.screenshot("1b-assignment-list-submitted.png")

        # alice and bob, with nbgrader's commands as themselves: the sentiment lab, alice's done.
        for student in STUDENTS:
            d.run(student, "nbgrader", "fetch_assignment", "sentiment")
        d.write_notebook(
            "alice", d.home("alice") / "sentiment" / "sentiment.ipynb", released_with_reference_answer("sentiment")
        )
        for student in STUDENTS:
            d.run(student, "nbgrader", "submit", "sentiment")

        # Nobody sees another's work: inbound is not listable, homes and the course are closed.
        for student, other in (("alice", "bob"), ("bob", "alice")):
            d.denied(student, "ls", inbound)
            d.denied(student, "ls", d.home(other))
            d.denied(student, "cat", d.home(other) / "sentiment" / "sentiment.ipynb")
            d.denied(student, "ls", d.course)
            d.denied(student, "cat", d.course / "solutions" / "nmt" / "nmt.ipynb")
        handed_in = sorted(p.name.split("+")[:2] for p in inbound.iterdir())
        assert handed_in == [["alice", "sentiment"], ["bob", "nmt"], ["bob", "sentiment"]], handed_in

        # bob tries the exchange's two holes, later than every real hand-in: a folder under alice's
        # name (to replace her work with his), and one whose notebook is a link to the solutions.
        forged, linked = hand_in_as_someone_else(d, inbound), hand_in_a_link(d, inbound)

        # The instructor collects and grades what was handed in; both attacks are refused by name.
        collected = d.make(INSTRUCTOR, "collect")
        assert f"Refused inbound/{forged}: the submission folder belongs to bob, not to alice" in collected, collected
        assert f"Refused inbound/{linked}: sentiment.ipynb is a symbolic link" in collected, collected
        submitted = d.course / "autograder" / "submitted"
        for student, lab in (("alice", "sentiment"), ("bob", "sentiment"), ("bob", "nmt")):
            path = submitted / student / lab / f"{lab}.ipynb"
            assert path.exists() and path.owner() == INSTRUCTOR, f"collect did not bring {path}"
        her_line = max(reference_answer("sentiment").splitlines(), key=len).strip()  # a line only she typed
        alice_collected = nbformat.read(submitted / "alice" / "sentiment" / "sentiment.ipynb", as_version=4)
        assert her_line in solution_cell(alice_collected).source, "alice's hand-in was replaced"
        bob_collected = (submitted / "bob" / "sentiment" / "sentiment.ipynb").read_text(encoding="utf-8")
        assert her_line not in bob_collected, "bob's collected notebook is not his own"
        for text in (nbformat.writes(alice_collected), bob_collected):
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, "the solutions were collected"
        (logs / "make-grade.log").write_text(d.make(INSTRUCTOR, "grade"), encoding="utf-8")
        scores = read_scores(d)
        assert set(scores) == {("alice", "sentiment"), ("bob", "sentiment"), ("bob", "nmt")}, scores
        alice_expected = read_expected("smoke")["passes-all", "sentiment"][0]
        assert float(scores["alice", "sentiment"]) == alice_expected, scores
        assert float(scores["bob", "sentiment"]) == 0, scores

        # The TA, logged in as themselves, grades bob's written answer in formgrader (their own
        # server, on the course folder) ...
        browser.log_in(hub, TA, d.passwords[TA])
        assert pwd.getpwuid(Path(f"/proc/{server_pid(TA)}").stat().st_uid).pw_name == TA
        browser.do("goto", url=f"{hub.url}/user/{TA}/formgrader/gradebook/nmt/nmt")
        browser.do("click", selector="td a:has-text('Submission #1')")
        score = f"input.score#{ANSWER}"
        browser.do("scroll", selector=f"#{ANSWER}-comment")
        assert BOB_WRITES[:40] in browser.do("text", selector="#notebook"), "formgrader lacks bob's answer"
        browser.do("fill", selector=score, value="2")
        browser.do("press", selector=score, key="Tab")  # formgrader saves a score when it loses focus
        assert wait_for(lambda: d.hand_grade("bob", "nmt", ANSWER) == 2.0, 30), (
            f"formgrader did not save the 2 points: {d.hand_grade('bob', 'nmt', ANSWER)}"
        )
        browser.screenshot("2-formgrader-written-answer-by-the-ta.png")
    finally:
        browser.close()

    # ... and runs the grader: the hand-given points reach grades.csv.
    (logs / "make-grade-ta.log").write_text(d.make(TA, "grade"), encoding="utf-8")
    assert float(read_scores(d)["bob", "nmt"]) == float(scores["bob", "nmt"]) + 2, read_scores(d)
    assert list((d.course / "autograder" / "backups").glob("gradebook-*.db")), "no copy of the gradebook was kept"

    # The instructor returns the feedback; each student fetches their own, and only that.
    d.make(INSTRUCTOR, "return")
    feedback = d.course / "autograder" / "feedback"
    for student, other in (("alice", "bob"), ("bob", "alice")):
        d.denied(student, "ls", d.exchange / COURSE_ID / "feedback")
        d.run(student, "nbgrader", "fetch_feedback", "sentiment")
        received = list((d.home(student) / "sentiment" / "feedback").glob("*/sentiment.html"))
        assert len(received) == 1, f"{student} received {received}"
        mine = (feedback / student / "sentiment" / "sentiment.html").read_bytes()
        theirs = (feedback / other / "sentiment" / "sentiment.html").read_bytes()
        assert received[0].read_bytes() == mine != theirs, f"{student} did not get their own feedback"
    d.run("bob", "nbgrader", "fetch_feedback", "nmt")
    (page,) = (d.home("bob") / "nmt" / "feedback").glob("*/nmt.html")
    assert BOB_WRITES[:40] in page.read_text(encoding="utf-8"), "bob's feedback lacks his written answer"


def hand_in_as_someone_else(d: Deployment, inbound: Path) -> str:
    """bob makes a submission folder named for alice (inbound/ is writable by everyone), holding his
    own notebook, stamped later than her hand-in; returns its name."""
    name = f"alice+sentiment+{utc_stamp()}+{secrets.token_hex(6)}"
    d.run("bob", "mkdir", inbound / name)
    d.run("bob", "cp", d.home("bob") / "sentiment" / "sentiment.ipynb", inbound / name / "sentiment.ipynb")
    d.run("bob", "sh", "-c", f"echo '{utc_stamp()}' > {inbound / name / 'timestamp.txt'}")
    return name


def hand_in_a_link(d: Deployment, inbound: Path) -> str:
    """bob hands in a folder whose notebook is a symbolic link to the instructor's solution, which
    only the collecting instructor can read; returns its name."""
    name = f"bob+sentiment+{utc_stamp()}+{secrets.token_hex(6)}"
    d.run("bob", "mkdir", inbound / name)
    target = d.course / "solutions" / "sentiment" / "sentiment.ipynb"
    d.run("bob", "ln", "-s", target, inbound / name / "sentiment.ipynb")
    return name


def utc_stamp() -> str:
    """A hand-in time as nbgrader writes it into folder names and timestamp.txt."""
    time.sleep(0.01)  # every stamp later than the one before
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def read_scores(d: Deployment) -> dict[tuple[str, str], str]:
    with open(d.course / "autograder" / "grades.csv", newline="", encoding="utf-8") as f:
        return {(r["student_id"], r["assignment"]): r["score"] for r in csv.DictReader(f)}
