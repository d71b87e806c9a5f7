"""Where the time of one graded sentiment answer goes, phase by phase, from what the grader recorded.

Every executed unit keeps its timing in its stored record (:mod:`coursegrader.timing`): the
kernel's start, each cell's wall seconds (and the kernel's CPU seconds when
``COURSEGRADER_CPU_TIMING=1``, which the benchmark sets), the requests, the verdicts, the
shutdown and the whole ``nbgrader autograde`` process. This groups the cells into the
phases of the sentiment lab and takes the median over several units.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

#: The sentiment lab's cells (labels as the grader names them), grouped into phases, in order.
CELL_PHASES = (
    ("imports (Python, TensorFlow, Keras)", ("imports",)),
    ("data: read, clean, tokenise the reviews", ("config", "load_data", "cleaning", "tokenization", "pipelines")),
    ("locked cells before the answer (encoder)", ("encoder",)),
    (
        "the answer and its four layer checks",
        (
            "luong_attention",
            "luong_output_shapes_and_dtypes",
            "luong_weights_sum_to_one",
            "luong_padding_gets_zero_weight",
            "luong_matches_general_score",
        ),
    ),
    ("model built (classifier cell)", ("classifier",)),
    ("training (the student's own)", ("training",)),
    ("evaluation cell (first batch)", ("evaluation",)),
    ("evidence: test accuracy (every test review)", ("test_accuracy_at_least_0_80",)),
    ("top words cell", ("top_words",)),
    ("evidence: top words", ("top10_words_are_most_attended",)),
    ("integrity checks", ("the autograder's integrity check",)),
)
OTHER_CELLS = "other locked cells (report, summary)"


def unit_phases(record: dict) -> dict[str, tuple[float, float | None]]:
    """``{phase: (wall, cpu)}`` of one executed unit (cpu None where it was not measured)."""
    timing = record.get("timing", {})
    phases = {name: [0.0, 0.0] for name, _ in CELL_PHASES}
    phases[OTHER_CELLS] = [0.0, 0.0]
    where = {label: name for name, labels in CELL_PHASES for label in labels}
    cpu_known = True
    for label, wall, cpu in timing.get("cells", []):
        slot = phases[where.get(label, OTHER_CELLS)]
        slot[0] += wall
        cpu_known &= cpu is not None
        slot[1] += cpu or 0.0
    own = dict(timing.get("phases", {}))
    out = {"kernel start": tuple(own.get("kernel_start", (0.0, None)))}
    out.update({name: (w, c if cpu_known else None) for name, (w, c) in phases.items()})
    for key, name in (("requests", "requests (drawn by the grader)"), ("verdicts", "verdicts (in the grader)")):
        out[name] = tuple(own.get(key, (0.0, None)))
    out["kernel shutdown"] = tuple(own.get("kernel_shutdown", (0.0, None)))
    unit_wall, unit_cpu = own.get("unit", (None, None))
    if unit_wall is not None:
        inside = sum(w for w, _ in out.values())
        grader_cpu = sum(c for k, (_, c) in out.items() if k.startswith(("requests", "verdicts")) and c)
        out["nbgrader's own (process, rebuild, gradebook)"] = (
            max(0.0, unit_wall - inside),
            None if unit_cpu is None else max(0.0, unit_cpu - grader_cpu),
        )
        cpus = [c for name, (_, c) in out.items() if name != "kernel shutdown"]
        out["the whole unit"] = (unit_wall, None if None in cpus else sum(cpus))
    return out


def outcomes(workdir: Path) -> list[dict]:
    """The stored outcomes of the executed units of a grading folder (``record`` holds the timing)."""
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((Path(workdir) / ".results").glob("*/outcome.json"))
    ]


def median_phases(recs: list[dict]) -> dict[str, tuple[float, float | None]]:
    """The median of each phase over several units."""
    each = [unit_phases(r) for r in recs]
    out = {}
    for name in each[0] if each else ():
        walls = [p[name][0] for p in each if name in p]
        cpus = [p[name][1] for p in each if name in p and p[name][1] is not None]
        out[name] = (statistics.median(walls), statistics.median(cpus) if cpus else None)
    return out


def print_phases(title: str, phases: dict, extra: dict[str, tuple[float, float | None]]) -> None:
    """The table: wall and CPU seconds per phase (``extra``: phases measured outside the unit)."""
    print(f"\n{title}")
    print(f"  {'phase':52s} {'wall s':>8s} {'CPU s':>8s}")
    for name, (wall, cpu) in {**phases, **extra}.items():
        cpu_text = "" if cpu is None else f"{cpu:8.2f}"
        rule = "  " + "-" * 70 + "\n" if name == "the whole unit" else ""
        print(f"{rule}  {name:52s} {wall:8.2f} {cpu_text:>8s}")
