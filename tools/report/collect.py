"""Collect what the runs left behind (``run_status.json``, ``run_summary.json``) into results.

The page is rendered from these results only, so ``--no-run`` can re-render it without running
anything. :func:`metric`, :func:`records` and :func:`number` read a summary defensively: a key that
is missing or of the wrong type reads as None (or an empty list) instead of failing the report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursekit.summary import SUMMARY_FILE, load_summary

from .runs import RUNS_DIR, STATUS_FILE, RunSpec, run_specs


@dataclass
class RunResult:
    """What the report knows about one run: its summary (None if it has none) and status."""

    name: str
    spec: RunSpec
    summary: dict | None
    status: str  # "ok", "failed" or "missing"
    error: str | None = None
    seconds: float | None = None
    notebook_copy: Path | None = None
    cell_errors: list = field(default_factory=list)  # cells that raised in a run that still finished

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.summary is not None


def collect(names: Sequence[str], runs_dir: Path = RUNS_DIR, cell: str = "gru") -> list[RunResult]:
    """Read each run's ``run_status.json`` and ``run_summary.json`` from ``runs_dir/<run>/``."""
    results = []
    for spec in run_specs(names, cell):
        name = spec.name
        workdir = Path(runs_dir) / name
        status: dict = {}
        if (workdir / STATUS_FILE).is_file():
            try:
                status = json.loads((workdir / STATUS_FILE).read_text(encoding="utf-8"))
            except ValueError:
                status = {}
        copy = workdir / Path(spec.notebook).name
        errors = status.get("cell_errors") if isinstance(status.get("cell_errors"), list) else []
        result = RunResult(
            name,
            spec,
            None,
            "ok",
            seconds=status.get("seconds"),
            notebook_copy=copy if copy.is_file() else None,
            cell_errors=[e for e in errors if isinstance(e, dict)],
        )
        if status.get("status") == "failed":
            result.status, result.error = "failed", status.get("error") or "(no error message recorded)"
        elif (workdir / SUMMARY_FILE).is_file():
            try:
                result.summary = load_summary(workdir / SUMMARY_FILE)
            except ValueError as error:
                result.status, result.error = "failed", f"unreadable {SUMMARY_FILE}: {error}"
        else:
            result.status = "missing"
            result.error = (
                f"no {SUMMARY_FILE} in {workdir}: this run has not been executed (run `make report` without NO_RUN)"
            )
        results.append(result)
    return results


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans, None, text and NaN are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def metric(summary: Mapping | None, key: str) -> Any:
    metrics = (summary or {}).get("metrics")
    return metrics.get(key) if isinstance(metrics, Mapping) else None


def records(summary: Mapping | None, key: str) -> list[dict]:
    value = (summary or {}).get(key)
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def nmt(results: Sequence[RunResult]) -> list[RunResult]:
    """The translation runs among ``results``."""
    return [r for r in results if r.spec.kind == "nmt"]


def ranked(results: Sequence[RunResult]) -> list[RunResult]:
    """Finished translation runs with a greedy BLEU, best first (ties broken by beam BLEU)."""
    scored = [r for r in nmt(results) if r.ok and number(metric(r.summary, "bleu_greedy")) is not None]

    def key(r):
        beam = number(metric(r.summary, "bleu_beam"))
        return number(metric(r.summary, "bleu_greedy")), -math.inf if beam is None else beam

    return sorted(scored, key=key, reverse=True)
