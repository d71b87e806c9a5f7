"""What every unit of one grading run shares: the sandbox decision, the profiles, the gradebooks,
the kernels' data copy, the workers and their memory caps (the first stage of :func:`grade`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from coursekit import profiles

from . import sandbox as sandboxing
from . import workers
from .errors import ConfigurationError
from .limits import OFF, fallbacks, from_setting, with_limits
from .machine import default_memory_limit, grading_cores, visible_gpus
from .nbcommand import generate
from .sandbox.cgroups import memory_cap_support
from .unit import Run
from .withhold import withheld_data_dir


@dataclass
class Session:
    """A run's shared set-up."""

    run: Run  #: what the units and the delivery of their results share
    envs: list[dict[str, str]]  #: one environment per local worker (its GPU, or its share of the cores)
    where: str  #: where the units run, in words (for the announcement)

    @property
    def chosen(self) -> dict[str, profiles.Profile]:
        return self.run.profiles


def open_session(
    workdir: Path,
    *,
    known: list[str],
    graded: list[str],
    profile: str | None,
    sandbox: str | None,
    jobs: int | None,
    jobs_per_gpu: int,
    memory: str | None,
    scheduler: str | None,
    limits: str | None = None,
) -> Session:
    """Decide the sandbox (printing why), choose each graded lab's profile, teach the gradebooks the
    assignments, build the kernels' data copy once, and size the workers. ``limits`` changes the
    table's disk, file, process and output limits (:mod:`coursegrader.limits`)."""
    use_sandbox, message = sandboxing.decide(sandbox or sandboxing.mode_from_env())
    print(message, flush=True)
    env = {profiles.ENV_VAR: profile} if profile else None
    try:
        chosen = {lab: with_limits(profiles.select(lab, env=env), limits) for lab in graded}
    except ValueError as err:  # a LIMITS typo
        raise ConfigurationError(str(err)) from None
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / ".work").mkdir(exist_ok=True)
    log = workdir / "grading.log"
    log.write_text("", encoding="utf-8")
    template = workdir / ".work" / "template.db"
    template.unlink(missing_ok=True)
    for assignment in known:
        generate(assignment, workdir / "gradebook.db", log)
        generate(assignment, template, log)
    withheld_data_dir()  # built once here, not by the first units at the same time
    gpus = visible_gpus()
    envs = workers.worker_envs(jobs, gpus, jobs_per_gpu)
    if use_sandbox:
        capped, why = memory_cap_support()
        if not capped:
            print(why, flush=True)
        elif memory is None:
            memory = default_memory_limit(len(envs))
        for note in fallbacks(from_setting(next(iter(chosen.values())).settings["limits"]) if chosen else OFF):
            print(note, flush=True)
    run = Run(workdir=workdir, template_db=template, sandbox=use_sandbox, log=log, profiles=chosen, memory=memory or "")
    return Session(run=run, envs=envs, where=_where(scheduler, envs, gpus))


def _where(scheduler: str | None, envs: list[dict[str, str]], gpus: list[str]) -> str:
    if scheduler:
        return f"Dask ({scheduler})"
    if gpus:
        return f"{len(envs)} worker(s) on GPUs {', '.join(gpus)}"
    threads = envs[0].get("TF_NUM_INTRAOP_THREADS", "all")
    return (
        f"{len(envs)} worker(s), {threads} CPU thread(s) each (all {grading_cores()} for a unit expected to run alone)"
    )
