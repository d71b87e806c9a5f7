"""The runs of the report: which notebook each runs, in which profile, with which environment.

Nothing here runs anything (that is :mod:`coursetools.report.execute`); this module only describes the runs
and where their files go.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import ROOT, profiles

STATUS_FILE = "run_status.json"
"""What the runner writes next to the summary: ok or failed, the error, the time the notebook took."""

REPORT_DIR = ROOT / "report"
RUNS_DIR = REPORT_DIR / "runs"
CHECKPOINT_DIR = REPORT_DIR / "checkpoints"
DEFAULT_OUT = REPORT_DIR / "index.html"

CELLS = ("gru", "lstm")


@dataclass(frozen=True)
class RunSpec:
    """One run of the report: which notebook, which lab's time limits, which extra environment."""

    name: str
    lab: str  # "nmt", "nmt_luong" or "sentiment"
    notebook: str  # relative to the bundle's top folder
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "sentiment" if self.lab == "sentiment" else "nmt"

    @property
    def score(self) -> str | None:
        """The attention score a translation run uses: additive (Bahdanau), dot, general or concat."""
        if self.lab == "nmt":
            return "additive"
        return self.env.get("LUONG_SCORE") if self.lab == "nmt_luong" else None


RUNS: dict[str, RunSpec] = {
    spec.name: spec
    for spec in (
        RunSpec("bahdanau", "nmt", "solutions/nmt/nmt.ipynb"),
        RunSpec("luong-dot", "nmt_luong", "solutions/nmt_luong/nmt_luong.ipynb", {"LUONG_SCORE": "dot"}),
        RunSpec("luong-general", "nmt_luong", "solutions/nmt_luong/nmt_luong.ipynb", {"LUONG_SCORE": "general"}),
        RunSpec("luong-concat", "nmt_luong", "solutions/nmt_luong/nmt_luong.ipynb", {"LUONG_SCORE": "concat"}),
        RunSpec("sentiment", "sentiment", "solutions/sentiment/sentiment.ipynb"),
    )
}


def run_specs(names: Sequence[str], cell: str = "gru") -> list[RunSpec]:
    """The runs ``names`` with the Luong runs' recurrent cell (``LUONG_CELL``) filled in.

    A Luong run with an LSTM is named like the notebook names it, ``luong-dot-lstm``, so its folder
    and results do not replace those of the GRU run.
    """
    if cell not in CELLS:
        raise ValueError(f"cell {cell!r} is not one of: {', '.join(CELLS)}")
    specs = []
    for name in names:
        spec = RUNS[name]
        if spec.lab == "nmt_luong":
            spec = RunSpec(
                name if cell == "gru" else f"{name}-{cell}", spec.lab, spec.notebook, {**spec.env, "LUONG_CELL": cell}
            )
        specs.append(spec)
    return specs


def resolve_profile(name: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``full``, ``cpu`` or ``smoke``; ``auto`` (or nothing) means ``full`` with an NVIDIA driver, else ``cpu``.

    Resolved here, without importing TensorFlow, so that every notebook of the report runs in the same
    profile and the report can name it.
    """
    env = os.environ if env is None else env
    name = (name or env.get(profiles.ENV_VAR) or "auto").strip().lower()
    if name == "auto":
        return "full" if profiles.nvidia_driver_present() else "cpu"
    if name not in profiles.NAMES:
        raise ValueError(f"profile {name!r} is not one of: auto, {', '.join(profiles.NAMES)}")
    return name


def lab_settings(lab: str, profile: str) -> dict:
    """The profile settings of ``lab``."""
    return dict(profiles.SETTINGS[lab][profile])


def cell_timeout(lab: str, profile: str) -> int:
    return int(lab_settings(lab, profile)["cell_timeout"])


def bleu_floor(profile: str | None) -> float | None:
    """The greedy BLEU a translation run must reach in ``profile`` (None if the profile has none)."""
    try:
        return float(profiles.SETTINGS["nmt"][profile]["bleu_floor"])
    except (KeyError, TypeError, ValueError):
        return None


def run_env(
    spec: RunSpec, profile: str, checkpoint_dir: Path = CHECKPOINT_DIR, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The complete environment of ``spec``'s kernel: ``base`` (default ``os.environ``) plus the run's."""
    env = dict(os.environ if base is None else base)
    env[profiles.ENV_VAR] = profile
    env["NMT_CHECKPOINT_DIR"] = str(Path(checkpoint_dir).resolve())
    env["MPLBACKEND"] = "Agg"
    env["REPORT_RUN"] = spec.name
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # the kernel's `python` is the one of this environment (the venv), whatever PATH says
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(spec.env)
    return env
