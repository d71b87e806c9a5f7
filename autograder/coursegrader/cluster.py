"""Before a Dask cluster grades anything: can every worker grade as this machine would?

A worker runs :func:`coursegrader.unit.run_unit` on folders the grader made, with the bundle's
labs, lab library and data, in the sandbox. One that sees other files (no shared file
system, another checkout) or has no working bubblewrap would grade differently or not at all,
and one unit after another would come back failed, or run unsandboxed. So
:func:`refuse_unfit_workers` asks every worker, with ``client.run``, to :func:`check_worker`
what it needs, and stops the run before any unit is submitted, naming each worker and what
it lacks.

What a worker must have:

* the grader itself (it unpickles :func:`check_worker` from the ``coursegrader`` it imports);
* the bundle at the same path: the same ``labs/``, ``coursekit/``, ``autograder/`` as here;
* the grading folder at the same path, on the same file system: it reads a token the grader
  has just written there (the same path on another disk would not have it);
* when the sandbox is on: bubblewrap, able to build the sandbox there.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from .errors import ConfigurationError

#: How long to wait for the first worker of a running scheduler, and of a cluster that dask-jobqueue
#: starts as batch jobs (which may wait in the queue).
WAIT_FOR_WORKERS, WAIT_FOR_JOBS = 120, 3600


def check_worker(expect: dict) -> list[str]:
    """What this worker lacks to grade (empty: nothing). Runs on the worker."""
    token = Path(expect["token_file"])
    try:
        seen = token.read_text(encoding="utf-8")
    except OSError:
        seen = None
    problems = problems_here(expect["root"], expect["sandbox"])
    if seen != expect["token"]:
        problems.append(
            f"cannot see the grading folder {token.parent.parent} (a shared file system, at the same path, is needed)"
        )
    return problems


def problems_here(root: str, sandbox: bool) -> list[str]:
    """What this machine lacks to grade with the bundle at ``root``: the same grader, the bundle's
    parts at the same path, and (``sandbox``) a working bubblewrap."""
    from .course import ROOT

    problems = []
    if str(ROOT) != root:
        problems.append(f"its grader is the one in {ROOT}, not the bundle at {root}")
    for part in ("labs", "coursekit", "autograder/coursegrader", "data/SHA256SUMS"):
        if not Path(root, part).exists():
            problems.append(f"cannot see {Path(root, part)} (the bundle must be at the same path)")
    if sandbox:
        from .sandbox import probe

        works, why = probe()
        if not works:
            problems.append(f"no sandbox: {why}")
    return problems


def refuse_unfit_workers(client, root: Path, workdir: Path, sandbox: bool, wait: float = WAIT_FOR_WORKERS) -> list[str]:
    """Check every worker of ``client`` (after waiting up to ``wait`` seconds for the first one);
    raise :class:`ConfigurationError` naming the unfit ones, else return their addresses. Workers that join later
    are not asked here; each unit checks its worker again as it starts (:func:`problems_here`)."""
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        why = f"No Dask worker joined the scheduler within {wait:.0f} s; nothing was graded"
        raise ConfigurationError(why) from None
    token_file = Path(workdir) / ".work" / f"worker-check-{secrets.token_hex(8)}"
    token = secrets.token_hex(16)
    token_file.write_text(token, encoding="utf-8")
    expect = {"root": str(root), "token_file": str(token_file), "token": token, "sandbox": bool(sandbox)}
    try:
        answers = client.run(check_worker, expect, on_error="return")
    finally:
        token_file.unlink(missing_ok=True)
    names = {address: info.get("name") for address, info in client.scheduler_info()["workers"].items()}
    unfit = {}
    for address, answer in sorted(answers.items()):
        address = f"{address} ({names[address]})" if names.get(address) not in (None, address) else address
        if isinstance(answer, BaseException):
            unfit[address] = [
                f"could not run the grader's check ({type(answer).__name__}: {answer}); "
                "is the bundle installed there, at the same path, in the same environment?"
            ]
        elif answer:
            unfit[address] = answer
    if unfit:
        lines = [f"  {address}: {'; '.join(why)}" for address, why in unfit.items()]
        raise ConfigurationError(
            f"Refusing to grade on this Dask cluster: {len(unfit)} of {len(answers)} worker(s) cannot grade "
            "as this machine does (nothing was graded):\n" + "\n".join(lines)
        )
    return sorted(answers)
