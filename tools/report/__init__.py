"""`make report`: run the course's labs and write one self-contained HTML report of their results.

The report covers five runs, each one notebook executed with nbclient in the chosen profile
(``COURSE_PROFILE``), in its own working folder ``report/runs/<run>/``:

========================  ==========================================  ===============================
run                       notebook                                    environment
========================  ==========================================  ===============================
``bahdanau``              ``solutions/nmt/nmt.ipynb``
``luong-dot``             ``solutions/nmt_luong/nmt_luong.ipynb``     ``LUONG_SCORE=dot``, ``LUONG_CELL``
``luong-general``         ``solutions/nmt_luong/nmt_luong.ipynb``     ``LUONG_SCORE=general``, ...
``luong-concat``          ``solutions/nmt_luong/nmt_luong.ipynb``     ``LUONG_SCORE=concat``, ...
``sentiment``             ``solutions/sentiment/sentiment.ipynb``
========================  ==========================================  ===============================

Every run also gets ``NMT_CHECKPOINT_DIR=<bundle>/report/checkpoints`` (a second ``make report``
restores the trained models instead of training again), ``MPLBACKEND=Agg`` and ``REPORT_RUN=<run>``.
The last cell of each notebook calls :func:`save_summary`, which writes ``run_summary.json`` into the
notebook's working folder; the report is rendered from those files only, so
``python -m tools.report --no-run`` re-renders it without running anything. A run that fails does
not stop the others: its section says so and shows the end of the traceback, and the command exits
with status 1.

The HTML is one file with everything inline: CSS, the figures as base64 PNG data URIs, and a subset of
the shipped CJK font (``fonts/``) so that Chinese text renders on machines without a CJK font.
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import html
import io
import json
import math
import os
import platform
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from coursekit import ROOT, profiles
from coursekit.summary import SUMMARY_FILE, _jsonable, load_summary, save_summary  # noqa: F401

STATUS_FILE = "run_status.json"
"""What the runner writes next to it: ok or failed, the error, the time the notebook took."""

REPORT_DIR = ROOT / "report"
RUNS_DIR = REPORT_DIR / "runs"
CHECKPOINT_DIR = REPORT_DIR / "checkpoints"
DEFAULT_OUT = REPORT_DIR / "index.html"

SENTIMENT_THRESHOLD = 0.80
DASH = "—"
ERROR_LINES = 25
"""How many of the last lines of a failed run's error the report shows."""

PAGE_INCHES = 10.6
"""The width of the page's text column in inches (at 96 CSS pixels per inch): figures aim to fit it."""

SENTIMENT_CURVES = (("train_loss", "training loss"), ("train_accuracy", "training accuracy"),
                    ("validation_accuracy", "validation accuracy"))


# --------------------------------------------------------------------------- runs

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


RUNS: dict[str, RunSpec] = {spec.name: spec for spec in (
    RunSpec("bahdanau", "nmt", "solutions/nmt/nmt.ipynb"),
    RunSpec("luong-dot", "nmt_luong", "solutions/nmt_luong/nmt_luong.ipynb", {"LUONG_SCORE": "dot"}),
    RunSpec("luong-general", "nmt_luong", "solutions/nmt_luong/nmt_luong.ipynb", {"LUONG_SCORE": "general"}),
    RunSpec("luong-concat", "nmt_luong", "solutions/nmt_luong/nmt_luong.ipynb", {"LUONG_SCORE": "concat"}),
    RunSpec("sentiment", "sentiment", "solutions/sentiment/sentiment.ipynb"),
)}
CELLS = ("gru", "lstm")


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
            spec = RunSpec(name if cell == "gru" else f"{name}-{cell}", spec.lab, spec.notebook,
                           {**spec.env, "LUONG_CELL": cell})
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
    """The profile settings of ``lab``; ``nmt_luong`` uses the ``nmt`` entry until it has its own."""
    table = profiles.SETTINGS.get(lab) or profiles.SETTINGS["nmt"]
    return dict(table[profile])


def cell_timeout(lab: str, profile: str) -> int:
    return int(lab_settings(lab, profile)["cell_timeout"])


def bleu_floor(profile: str | None) -> float | None:
    try:
        return float(profiles.SETTINGS["nmt"][profile]["bleu_floor"])
    except (KeyError, TypeError, ValueError):
        return None


def run_env(spec: RunSpec, profile: str, checkpoint_dir: Path = CHECKPOINT_DIR,
            base: Mapping[str, str] | None = None) -> dict[str, str]:
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


def cell_errors(nb) -> list[dict]:
    """The errors an executed notebook's cells raised: cell number, exception, last traceback lines."""
    errors = []
    for number, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if output.get("output_type") == "error":
                trace = _ANSI.sub("", "\n".join(output.get("traceback") or [])).splitlines()
                errors.append({"cell": number, "ename": output.get("ename", ""),
                               "evalue": _ANSI.sub("", str(output.get("evalue", ""))),
                               "traceback": "\n".join(line.rstrip() for line in trace[-ERROR_LINES:])})
    return errors


def execute_notebook(notebook: Path, workdir: Path, env: Mapping[str, str], timeout: int) -> list[dict]:
    """Run ``notebook`` with nbclient in ``workdir`` (its working directory) with environment ``env``.

    A cell that raises does not stop the notebook (a graded check that fails, such as a BLEU floor in
    the smoke profile, must not keep the last cell from saving the summary): the errors are returned
    (see :func:`cell_errors`). A cell that runs past ``timeout`` seconds or a dying kernel raises.
    The executed notebook, outputs included, is saved in ``workdir`` under the notebook's name, and
    the kernel's own output (TensorFlow's log) goes to ``workdir/kernel.log``.
    """
    import nbformat
    from nbclient import NotebookClient

    workdir = Path(workdir)
    nb = nbformat.read(str(notebook), as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    with open(workdir / "kernel.log", "wb") as log:
        try:
            client.execute(env=dict(env), cwd=str(workdir), stdout=log, stderr=log)
        finally:
            nbformat.write(nb, str(workdir / Path(notebook).name))
    return cell_errors(nb)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def error_text(error: BaseException, lines: int = ERROR_LINES) -> str:
    """The last ``lines`` lines of ``error``'s message (nbclient puts the cell's traceback there)."""
    text = _ANSI.sub("", str(error)).rstrip() or repr(error)
    text = f"{type(error).__name__}: {text}" if type(error).__name__ not in text.splitlines()[-1] else text
    kept = [line.rstrip() for line in text.splitlines()]
    while kept and not kept[0].strip():
        kept.pop(0)
    if len(kept) > lines:  # the first line says what happened, the last ones where
        kept = [kept[0], "[...]"] + kept[-(lines - 2):]
    return "\n".join(kept)


def run_one(spec: RunSpec, profile: str, runs_dir: Path = RUNS_DIR,
            checkpoint_dir: Path = CHECKPOINT_DIR, executor: Callable | None = None,
            root: Path | None = None, log=sys.stderr) -> dict:
    """Execute one run; return (and write to ``STATUS_FILE``) its status. Never raises for a failed run.

    ``executor(notebook, workdir, env, timeout)`` runs the notebook (default :func:`execute_notebook`);
    ``root`` is the bundle's top folder the notebook paths are relative to (default ``ROOT``).
    """
    executor = executor or execute_notebook
    root = ROOT if root is None else root
    workdir = Path(runs_dir) / spec.name
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in (SUMMARY_FILE, STATUS_FILE):  # a failed run must not show an earlier run's results
        (workdir / stale).unlink(missing_ok=True)
    Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    notebook = Path(root) / spec.notebook
    env = run_env(spec, profile, checkpoint_dir)
    timeout = cell_timeout(spec.lab, profile)
    status = {"run": spec.name, "notebook": spec.notebook, "profile": profile,
              "env": dict(spec.env),
              "cell_timeout": timeout, "status": "ok", "error": None, "cell_errors": []}
    start = time.monotonic()
    try:
        if not notebook.is_file():
            raise FileNotFoundError(f"notebook {spec.notebook} does not exist")
        errors = executor(notebook, workdir, env, timeout)  # a list of cell errors, or None
        status["cell_errors"] = [_jsonable(e) for e in errors if isinstance(e, Mapping)] \
            if isinstance(errors, list) else []
        if not (workdir / SUMMARY_FILE).is_file():
            first = status["cell_errors"][:1]
            raise RuntimeError(
                f"the notebook wrote no {SUMMARY_FILE} (its last cell must call "
                f"coursekit.summary.save_summary(summary))"
                + (f"; {len(status['cell_errors'])} cell(s) raised, the first one cell {first[0]['cell']}:\n"
                   f"{first[0]['traceback']}" if first else " and no cell raised an error"))
        load_summary(workdir / SUMMARY_FILE)
    except Exception as error:  # noqa: BLE001 - any failure of one run is reported, not raised
        status.update(status="failed", error=error_text(error))
    status["seconds"] = round(time.monotonic() - start, 1)
    (workdir / STATUS_FILE).write_text(json.dumps(status, ensure_ascii=False, indent=1), encoding="utf-8")
    if log:
        outcome = "ok" if status["status"] == "ok" else "FAILED:\n" + textwrap.indent(status["error"], "    ")
        if status["status"] == "ok" and status["cell_errors"]:
            outcome += ", but cells raised: " + "; ".join(
                f"cell {e['cell']}: {e['ename']}: {e['evalue'][:120]}" for e in status["cell_errors"])
        print(f"  {spec.name}: {outcome} ({status['seconds']:.0f} s)", file=log, flush=True)
    return status


def run_all(names: Sequence[str], profile: str, cell: str = "gru", runs_dir: Path = RUNS_DIR,
            checkpoint_dir: Path = CHECKPOINT_DIR, executor: Callable | None = None,
            root: Path | None = None, log=sys.stderr) -> list[dict]:
    """Execute ``names`` one after the other (each failure is recorded, the next run goes on)."""
    statuses = []
    specs = run_specs(names, cell)
    for i, spec in enumerate(specs, start=1):
        if log:
            extra = "".join(f" {k}={v}" for k, v in spec.env.items())
            print(f"[{i}/{len(specs)}] {spec.name}: {spec.notebook}{extra} (profile {profile}, "
                  f"cell time limit {cell_timeout(spec.lab, profile)} s) in {Path(runs_dir) / spec.name}",
                  file=log, flush=True)
        statuses.append(run_one(spec, profile, runs_dir, checkpoint_dir, executor, root, log))
    return statuses


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
        result = RunResult(name, spec, None, "ok", seconds=status.get("seconds"),
                           notebook_copy=copy if copy.is_file() else None,
                           cell_errors=[e for e in errors if isinstance(e, dict)])
        if status.get("status") == "failed":
            result.status, result.error = "failed", status.get("error") or "(no error message recorded)"
        elif (workdir / SUMMARY_FILE).is_file():
            try:
                result.summary = load_summary(workdir / SUMMARY_FILE)
            except ValueError as error:
                result.status, result.error = "failed", f"unreadable {SUMMARY_FILE}: {error}"
        else:
            result.status = "missing"
            result.error = (f"no {SUMMARY_FILE} in {workdir}: this run has not been executed "
                            f"(run `make report` without NO_RUN)")
        results.append(result)
    return results


# --------------------------------------------------------------------------- formatting

def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt(value: Any, digits: int = 1) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:,.{digits}f}"


def fmt_int(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{round(number):,}"


def fmt_seconds(value: Any) -> str:
    seconds = _number(value)
    if seconds is None:
        return DASH
    if seconds < 90:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 90:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fmt_bool(value: Any, yes: str = "yes", no: str = "no") -> str:
    return DASH if not isinstance(value, bool) else (yes if value else no)


def metric(summary: Mapping | None, key: str) -> Any:
    metrics = (summary or {}).get("metrics")
    return metrics.get(key) if isinstance(metrics, Mapping) else None


def records(summary: Mapping | None, key: str) -> list[dict]:
    value = (summary or {}).get(key)
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


FIGURE_DPI = 192
"""Figures are rendered at twice the CSS pixel density and shown at one inch = 96 CSS pixels, so text
has the same size in every figure (and stays sharp on high-density screens)."""


def figure_data_uri(fig, dpi: int = FIGURE_DPI) -> tuple[str, int]:
    """The figure as a base64 PNG data URI and its width in CSS pixels; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    finally:
        plt.close(fig)
    png = buffer.getvalue()
    width = int.from_bytes(png[16:20], "big")  # the IHDR chunk
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii"), round(width * 96 / dpi)


def figure_img(fig, alt: str) -> str:
    """An ``<img>`` holding ``fig`` (closed afterwards), as wide as the figure (at most the page)."""
    uri, width = figure_data_uri(fig)
    return f'<img src="{uri}" width="{width}" alt="{esc(alt)}">'


def badge(text: str, kind: str) -> str:
    return f'<span class="badge {kind}">{esc(text)}</span>'


def _cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def embedded_font_css(text: str, font_path: Path | None = None) -> str:
    """An ``@font-face`` rule with the shipped CJK font, cut down to the CJK characters of ``text``.

    Returns "" when ``text`` has no such characters or the font (or fontTools) is unavailable: the
    browser then falls back to its own fonts.
    """
    chars = "".join(sorted({ch for ch in text if _cjk(ch)}))
    if not chars:
        return ""
    try:
        from fontTools import subset

        from coursekit.plotting import FONT_FILE
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        font = subset.load_font(str(font_path or FONT_FILE), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        buffer = io.BytesIO()
        subset.save_font(font, buffer, options)
    except Exception:  # noqa: BLE001 - the report still renders, with the reader's fonts
        return ""
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return ("@font-face { font-family: 'Course CJK'; font-display: block; "
            f"src: url(data:font/woff;base64,{data}) format('woff'); }}\n")


# --------------------------------------------------------------------------- sections

def _label(result: RunResult, key: str) -> str:
    return esc((result.summary or {}).get(key) or DASH)


def _with_attention(result: RunResult) -> str:
    """", with Luong dot attention" (nothing when the summary does not name its attention)."""
    attention = (result.summary or {}).get("attention")
    return f", with {esc(attention)} attention" if attention else ""


def _nmt(results: Sequence[RunResult]) -> list[RunResult]:
    return [r for r in results if r.spec.kind == "nmt"]


def _ranked(results: Sequence[RunResult]) -> list[RunResult]:
    """Finished NMT runs with a greedy BLEU, best first (ties broken by beam BLEU)."""
    scored = [r for r in _nmt(results) if r.ok and _number(metric(r.summary, "bleu_greedy")) is not None]
    def key(r):
        beam = _number(metric(r.summary, "bleu_beam"))
        return _number(metric(r.summary, "bleu_greedy")), -math.inf if beam is None else beam
    return sorted(scored, key=key, reverse=True)


def verdict(results: Sequence[RunResult], profile: str) -> list[str]:
    """Plain sentences (HTML) comparing the NMT runs: the best, every weaker one, the floor, failures."""
    floor = bleu_floor(profile)
    ranked = _ranked(results)
    greedy = {r.name: _number(metric(r.summary, "bleu_greedy")) for r in ranked}
    out = []
    if not ranked:
        out.append("No translation run finished with a BLEU score, so there is nothing to compare.")
    elif len(ranked) == 1:
        only = ranked[0]
        out.append(f"Only <b>{esc(only.name)}</b> finished with a score: greedy BLEU "
                   f"{fmt(greedy[only.name])} (beam search {fmt(metric(only.summary, 'bleu_beam'))}).")
    else:
        best = ranked[0]
        out.append(f"Best: <b>{esc(best.name)}</b>{_with_attention(best)}: greedy BLEU "
                   f"<b>{fmt(greedy[best.name])}</b> (beam search {fmt(metric(best.summary, 'bleu_beam'))}) "
                   f"on the held-out sentences.")
        below = [f"<b>{esc(r.name)}</b> {fmt(greedy[r.name])} "
                 f"(−{fmt(greedy[best.name] - greedy[r.name])})" for r in ranked[1:]]
        out.append("Below it: " + ", ".join(below) + ".")
        worst = ranked[-1]
        gap = greedy[best.name] - greedy[worst.name]
        out.append(f"The weakest is <b>{esc(worst.name)}</b>{_with_attention(worst)}, "
                   f"{fmt(gap)} BLEU points behind the best.")
        if gap < 1.0:
            out.append("All finished runs are within one BLEU point of each other; each is a single "
                       "training run, so a difference this small may not survive another seed.")
    if floor is not None and ranked:
        under = [r for r in ranked if greedy[r.name] < floor]
        if under:
            names = ", ".join(f"<b>{esc(r.name)}</b> ({fmt(greedy[r.name])})" for r in under)
            out.append(f"<span class=\"bad\">Below the {esc(profile)} profile's floor of {fmt(floor)} greedy "
                       f"BLEU: {names}</span>; {'it fails' if len(under) == 1 else 'they fail'} the "
                       f"course's threshold"
                       + (" (the smoke profile trains for seconds and is not meant to reach it)."
                          if profile == "smoke" else "."))
        else:
            out.append(f"Every finished run clears the {esc(profile)} profile's floor of {fmt(floor)} "
                       f"greedy BLEU.")
    beams = {r.name: _number(metric(r.summary, "bleu_beam")) for r in ranked}
    beam_worse = [r for r in ranked if beams[r.name] is not None and beams[r.name] < greedy[r.name]]
    if beam_worse:
        out.append("Beam search scored below greedy decoding for "
                   + ", ".join(f"<b>{esc(r.name)}</b>" for r in beam_worse) + ".")
    broken = [r for r in _nmt(results) if not r.ok]
    if broken:
        out.append("<span class=\"bad\">Not compared, because "
                   + ", ".join(f"<b>{esc(r.name)}</b> {'failed' if r.status == 'failed' else 'has no results'}"
                               for r in broken) + "</span> (see below).")
    return out


def epochs(summary: Mapping | None) -> str:
    """Epochs trained, and the epoch whose weights were kept when early stopping picked another."""
    text = fmt_int(metric(summary, "epochs"))
    best = _number(metric(summary, "best_epoch"))
    if best is not None and text != DASH and round(best) != _number(metric(summary, "epochs")):
        text += f' <span class="note">(best {round(best)})</span>'
    return text


def failure_box(result: RunResult) -> str:
    what = "failed" if result.status == "failed" else "has no results"
    where = f" after {fmt_seconds(result.seconds)}" if result.seconds is not None else ""
    return (f'<div class="failure" id="failed-{esc(result.name)}"><p><b>{esc(result.name)} {what}</b>{where} '
            f"({esc(result.spec.notebook)}).</p><pre>{esc(result.error or '')}</pre></div>")


def cell_error_box(result: RunResult) -> str:
    """A finished run whose cells raised (typically a graded check): say which, show each traceback."""
    if not result.ok or not result.cell_errors:
        return ""
    items = "".join(
        f"<li>cell {esc(e.get('cell', '?'))}: <b>{esc(e.get('ename', ''))}</b>: "
        f"{esc(str(e.get('evalue', ''))[:300])}"
        f"<details><summary>traceback</summary><pre>{esc(e.get('traceback', ''))}</pre></details></li>"
        for e in result.cell_errors)
    n = len(result.cell_errors)
    return (f'<div class="warning" id="errors-{esc(result.name)}"><p><b>{esc(result.name)}: {n} cell'
            f'{"s" if n != 1 else ""} raised an error</b> (the notebook went on and saved its results; a failing '
            f"graded check shows up here):</p><ul>{items}</ul></div>")


def section_results(results: Sequence[RunResult], profile: str) -> str:
    nmt = _nmt(results)
    if not nmt:
        return ""
    best = _ranked(results)[:1]
    floor = bleu_floor(profile)
    widths = {_number(metric(r.summary, "beam_width")) for r in nmt if r.ok} - {None}
    k = f" (k={int(next(iter(widths)))})" if len(widths) == 1 else " (k)"
    head = ("<tr><th>Run</th><th>Attention</th><th>Cell</th><th class=num>BLEU greedy</th>"
            f"<th class=num>BLEU beam{k}</th><th class=num>Train time</th><th class=num>Epochs</th>"
            "<th class=num>s / epoch</th><th class=num>Parameters</th><th>Restored?</th></tr>")
    rows = []
    for r in nmt:
        if not r.ok:
            rows.append(f'<tr class="failed"><td><span class=run>{esc(r.name)}</span></td><td colspan=9>'
                        f'{badge("failed" if r.status == "failed" else "no results", "bad")} '
                        f'<a href="#failed-{esc(r.name)}">see the error below</a></td></tr>')
            continue
        greedy = _number(metric(r.summary, "bleu_greedy"))
        marks = []
        if best and r is best[0] and len(_ranked(results)) > 1:
            marks.append(badge("best", "good"))
        if floor is not None and greedy is not None and greedy < floor:
            marks.append(badge("below floor", "bad"))
        if r.cell_errors:
            n = len(r.cell_errors)
            label = f"{n} cell error" + ("s" if n != 1 else "")
            marks.append(f'<a href="#errors-{esc(r.name)}">{badge(label, "warn")}</a>')
        beam = fmt(metric(r.summary, "bleu_beam"))
        if len(widths) != 1 and metric(r.summary, "beam_width") is not None:
            beam += f" (k={fmt_int(metric(r.summary, 'beam_width'))})"
        rows.append(
            f"<tr><td><span class=run>{esc(r.name)}</span>"
            f"{'<div class=marks>' + ' '.join(marks) + '</div>' if marks else ''}</td>"
            f"<td class=nowrap>{_label(r, 'attention')}</td>"
            f"<td>{_label(r, 'cell')}</td><td class=num><b>{fmt(greedy)}</b></td><td class=num>{beam}</td>"
            f"<td class=num>{fmt_seconds(metric(r.summary, 'train_seconds'))}</td>"
            f"<td class=num>{epochs(r.summary)}</td>"
            f"<td class=num>{fmt(metric(r.summary, 'seconds_per_epoch'))}</td>"
            f"<td class=num>{fmt_int(metric(r.summary, 'parameters'))}</td>"
            f"<td>{fmt_bool(metric(r.summary, 'restored'), 'restored', 'trained')}</td></tr>")
    held = {fmt_int(metric(r.summary, "held_out_sources")) for r in nmt if r.ok} - {DASH}
    notes = [f"Corpus BLEU (sacrebleu) on {held.pop()} held-out Chinese sources that never occur in "
             f"training." if len(held) == 1 else "Corpus BLEU (sacrebleu) on the held-out split."]
    if floor is not None:
        notes.append(f"The {esc(profile)} profile's floor is {fmt(floor)} greedy BLEU.")
    if any(metric(r.summary, "restored") is True for r in nmt if r.ok):
        notes.append("Restored runs loaded their checkpoint instead of training; their time and epochs are "
                     "those of the original training, saved with the checkpoint.")
    failures = "".join(failure_box(r) if not r.ok else cell_error_box(r) for r in nmt)
    return (f'<section id="results"><h2>Translation results</h2>'
            f'<p class="verdict">{" ".join(verdict(results, profile))}</p>'
            f'<div class="scroll"><table class="results">{head}{"".join(rows)}</table></div>'
            f'<p class="note">{" ".join(notes)}</p>{failures}</section>')


def section_curves(results: Sequence[RunResult]) -> str:
    from coursekit.plotting import training_curves

    histories = {r.name: records(r.summary, "history") for r in _nmt(results) if r.ok}
    histories = {name: h for name, h in histories.items() if h}
    if not histories:
        body = '<p class="note">No translation run has a per-epoch history.</p>'
    else:
        fig = training_curves(histories, panel_width=PAGE_INCHES / 3, panel_height=3.1)
        body = (f"<figure>{figure_img(fig, 'training curves of the translation runs')}"
                "<figcaption>Per epoch: the training loss (teacher forcing, masked cross-entropy), the "
                "loss on the validation split (sentences set aside from the training sources; the BLEU "
                "sentences are never used during training), and the share of validation target tokens the "
                "model predicts correctly under teacher forcing. One line per run, on shared axes."
                "</figcaption></figure>")
    return f'<section id="curves"><h2>Training curves</h2>{body}</section>'


def _tokens(example: Mapping) -> tuple[list[str], list[str]]:
    source = example.get("source_tokens")
    if not isinstance(source, list):
        source = [ch for ch in str(example.get("source") or "") if not ch.isspace()]
    words = example.get("words")
    if not isinstance(words, list):
        words = str(example.get("translation") or "").split()
    return [str(t) for t in source], [str(w) for w in words]


def weights_problem(example: Mapping) -> str | None:
    """Why ``example``'s attention weights cannot be drawn (None if they can)."""
    import numpy as np

    source, words = _tokens(example)
    if not words:
        return "the translation is empty: nothing to draw"
    if example.get("weights") is None:
        return "no attention weights saved"
    try:
        shape = np.asarray(example.get("weights"), dtype=float).shape
    except (TypeError, ValueError):
        return "the attention weights are not a matrix of numbers"
    if shape != (len(words), len(source)):
        return (f"the attention weights have shape {shape}, not {len(words)} words x {len(source)} "
                f"source tokens")
    return None


def attention_figure(panels: Sequence[tuple[str, Mapping]]):
    """The heatmaps of one sentence, one per (run, example), side by side, with the shipped CJK font.

    Panels are sized so that every character gets about a quarter inch; when they do not all fit
    across the page they wrap onto balanced rows (four runs of a long sentence: two rows of two).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from coursekit.plotting import font_families, heatmap

    tokens = [_tokens(ex) for _, ex in panels]
    cols = max([len(source) for source, _ in tokens] + [1])
    rows = max([len(words) for _, words in tokens] + [1])
    longest_word = max([len(w) for _, words in tokens for w in words] + [1])
    need = max(2.6, 0.22 * cols + 0.085 * longest_word + 0.5)  # inches: cells + row labels + margins
    per_row = max(1, min(len(panels), int(PAGE_INCHES // need)))
    grid_rows = math.ceil(len(panels) / per_row)
    per_row = math.ceil(len(panels) / grid_rows)  # balanced: 2 + 2 rather than 3 + 1
    width = min(need * 1.15, PAGE_INCHES / per_row)
    height = max(2.2, 0.27 * rows + 1.3)
    with plt.rc_context({"font.family": font_families()}):
        fig, axes = plt.subplots(grid_rows, per_row, figsize=(width * per_row, height * grid_rows),
                                 squeeze=False)
        axes = list(axes.flat)
        for ax in axes[len(panels):]:
            ax.set_axis_off()
        for ax, (run, example), (source, words) in zip(axes, panels, tokens):
            problem = weights_problem(example)
            if problem is None:
                heatmap(np.asarray(example["weights"], dtype=float), source, words, ax=ax, title=run,
                        font_size=10.5, colorbar=False)
            else:
                ax.set_axis_off()
                ax.set_title(run, fontsize=10.5)
                ax.text(0.5, 0.5, textwrap.fill(problem, 28), ha="center", va="center", fontsize=9.5,
                        color="0.4", transform=ax.transAxes)
        fig.tight_layout(w_pad=2.0, h_pad=1.5)
    return fig


def section_attention(results: Sequence[RunResult]) -> str:
    runs = [r for r in _nmt(results) if r.ok]
    by_run = {r.name: {str(ex.get("source")): ex for ex in records(r.summary, "examples")} for r in runs}
    sources: list[str] = []
    for r in runs:
        for source in by_run[r.name]:
            if source not in sources:
                sources.append(source)
    if not sources:
        return ('<section id="attention"><h2>Attention</h2>'
                '<p class="note">No translation run saved example sentences.</p></section>')
    parts = ['<section id="attention"><h2>Attention</h2><p>For each sentence, the attention weights of every '
             "run side by side: a row per English word the model produced, a column per Chinese character, "
             "brighter = more weight. Each model translates the sentence itself, so the rows can differ.</p>"]
    for n, source in enumerate(sources, start=1):
        panels = [(r.name, by_run[r.name][source]) for r in runs if source in by_run[r.name]]
        missing = [r.name for r in runs if source not in by_run[r.name]]
        translations = "".join(f"<tr><td>{esc(run)}</td><td>{esc(ex.get('translation') or DASH)}</td></tr>"
                               for run, ex in panels)
        fig = attention_figure(panels)
        problems = [f"{run}: {weights_problem(ex)}" for run, ex in panels if weights_problem(ex)]
        if missing:
            problems.append(f"not among the examples of {', '.join(missing)}")
        note = f'<p class="note">{esc("; ".join(problems))}.</p>' if problems else ""
        parts.append(f'<div class="example"><h3><span class="num-label">{n}.</span> '
                     f'<span lang="zh">{esc(source)}</span></h3>'
                     f'<table class="translations">{translations}</table>'
                     f"<figure>{figure_img(fig, f'attention weights for {source}')}</figure>{note}</div>")
    parts.append("</section>")
    return "".join(parts)


def section_sentiment(results: Sequence[RunResult]) -> str:
    from coursekit.plotting import training_curves

    found = [r for r in results if r.spec.kind == "sentiment"]
    if not found:
        return ""
    r = found[0]
    head = '<section id="sentiment"><h2>Sentiment analysis (IMDB, Luong attention)</h2>'
    if not r.ok:
        return head + failure_box(r) + "</section>"
    s = r.summary
    threshold = _number(metric(s, "threshold")) or SENTIMENT_THRESHOLD
    accuracy = _number(metric(s, "test_accuracy"))
    if accuracy is None:
        line = f"The run recorded no test accuracy (the threshold is {threshold:.2f})."
    elif accuracy >= threshold:
        line = (f"Test accuracy <b>{accuracy:.3f}</b> {badge('meets the threshold', 'good')} "
                f"of {threshold:.2f}.")
    else:
        line = (f"Test accuracy <b>{accuracy:.3f}</b> {badge('below the threshold', 'bad')} "
                f"<span class=\"bad\">of {threshold:.2f}: this run fails the course's accuracy check.</span>")
    facts = ("<table><tr><th class=num>Test accuracy</th><th class=num>Threshold</th><th class=num>Train time</th>"
             "<th class=num>Epochs</th><th class=num>Parameters</th></tr>"
             f"<tr><td class=num><b>{fmt(accuracy, 3)}</b></td><td class=num>{threshold:.2f}</td>"
             f"<td class=num>{fmt_seconds(metric(s, 'train_seconds'))}</td>"
             f"<td class=num>{fmt_int(metric(s, 'epochs'))}</td>"
             f"<td class=num>{fmt_int(metric(s, 'parameters'))}</td></tr></table>")
    history = records(s, "history")
    if history:
        fig = training_curves({"sentiment": history}, SENTIMENT_CURVES, panel_width=PAGE_INCHES / 3,
                              panel_height=2.8)
        curve = f"<figure>{figure_img(fig, 'sentiment training curves')}</figure>"
    else:
        curve = '<p class="note">No per-epoch history.</p>'
    top = records(s, "top_words")
    if top:
        rows = []
        for t in top:
            label, predicted = t.get("label"), t.get("predicted")
            wrong = label is not None and predicted is not None and label != predicted
            words = t.get("words") if isinstance(t.get("words"), list) else []
            rows.append(f"<tr{' class=wrong' if wrong else ''}><td class=num>{esc(t.get('review', DASH))}</td>"
                        f"<td>{esc(label or DASH)}</td><td>{esc(predicted or DASH)}"
                        f"{' ' + badge('wrong', 'bad') if wrong else ''}</td>"
                        f"<td class=num>{fmt(t.get('probability'), 2)}</td>"
                        f"<td class=words>{' · '.join(esc(w) for w in words) or DASH}</td></tr>")
        right = sum(1 for t in top if t.get("label") is not None and t.get("label") == t.get("predicted"))
        words = ("<h3>Most-attended words</h3><p>The words with the largest attention weight in each of the "
                 f"first {len(top)} test reviews, most-attended first; {right} of the {len(top)} are classified "
                 "correctly.</p><div class=scroll><table class=topwords>"
                 "<tr><th class=num>Review</th><th>Label</th><th>Predicted</th><th class=num>Probability</th>"
                 f"<th>Top 10 words</th></tr>{''.join(rows)}</table></div>")
    else:
        words = '<p class="note">No most-attended words were saved.</p>'
    return f"{head}<p>{line}</p><div class=scroll>{facts}</div>{curve}{words}{cell_error_box(r)}</section>"


def git_commit(root: Path = ROOT) -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        tf_version = metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        tf_version = "not installed"
    return {"CPUs": f"{os.cpu_count()}" + (f" × {cpu}" if cpu else ""),
            "GPU": "NVIDIA driver present" if profiles.nvidia_driver_present() else "none",
            "System": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "Python": platform.python_version(), "TensorFlow": tf_version,
            "Date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "Git commit": git_commit() or "not available"}


def section_about(results: Sequence[RunResult], profile: str, command: str,
                  machine: Mapping[str, str]) -> str:
    facts = [("Profile", f"{profile} ({esc(profiles.ENV_VAR)}={esc(profile)})")]
    facts += [(k, esc(v)) for k, v in machine.items()]
    rows = []
    for r in results:
        env = " ".join(f"{k}={v}" for k, v in r.spec.env.items())
        ran = (r.summary or {}).get("profile")
        state = {"ok": badge("ok", "good"), "failed": badge("failed", "bad"),
                 "missing": badge("not run", "bad")}[r.status if r.status in ("ok", "failed") else "missing"]
        if ran and ran != profile:
            state += " " + badge(f"ran in profile {ran}", "warn")
        if r.ok and r.cell_errors:
            n = len(r.cell_errors)
            state += " " + badge(f"{n} cell error{'s' if n != 1 else ''}", "warn")
        rows.append(f"<tr><td>{esc(r.name)}</td><td><code>{esc(r.spec.notebook)}</code></td>"
                    f"<td><code>{esc(env) or DASH}</code></td><td>{state}</td>"
                    f"<td class=num>{fmt_seconds(r.seconds)}</td></tr>")
    fact_rows = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in facts)
    return (f'<section id="about"><h2>About this report</h2><table class=facts>{fact_rows}</table>'
            f"<h3>Runs</h3><div class=scroll><table><tr><th>Run</th><th>Notebook</th><th>Environment</th>"
            f"<th>Status</th><th class=num>Notebook time</th></tr>{''.join(rows)}</table></div>"
            f"<h3>Reproduce</h3><p>From the bundle's top folder:</p><pre>{esc(command)}</pre>"
            "<p>Each notebook runs with nbclient in <code>report/runs/&lt;run&gt;/</code> (the executed notebook "
            "is saved there with its outputs, next to its <code>run_summary.json</code>), with "
            "<code>NMT_CHECKPOINT_DIR=report/checkpoints</code>: a second <code>make report</code> restores the "
            "trained models instead of training again; delete <code>report/checkpoints/</code> to retrain. "
            "<code>make report NO_RUN=1</code> only re-renders this page from the saved summaries.</p></section>")


CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d8dee4; --soft:#f6f8fa; --accent:#0b5cad;
        --bad:#b42318; --bad-bg:#fdecea; --good:#1a7f37; --good-bg:#e6f4ea; --warn:#8a5a00; --warn-bg:#fff4d6; }
* { box-sizing: border-box; }
html { background: var(--soft); }
body { margin: 0; color: var(--fg); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto,
       "Helvetica Neue", Arial, "Noto Sans", "Noto Sans CJK TC", "PingFang TC", "Microsoft JhengHei",
       "Course CJK", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 40px 64px; background: #fff;
       box-shadow: 0 0 0 1px var(--line); min-height: 100vh; }
header h1 { margin: 0 0 4px; font-size: 28px; line-height: 1.25; }
header .sub { color: var(--muted); margin: 0 0 16px; }
header .summary { font-size: 17px; background: var(--soft); border-left: 4px solid var(--accent);
                  padding: 12px 16px; margin: 0; }
nav { margin: 18px 0 8px; display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 15px; }
nav a, a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
section { margin-top: 36px; }
h2 { font-size: 22px; border-bottom: 1px solid var(--line); padding-bottom: 6px; margin: 0 0 14px; }
h3 { font-size: 17px; margin: 22px 0 8px; }
table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; margin: 8px 0; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
table.results th { white-space: normal; vertical-align: bottom; }
table.results .run { white-space: nowrap; font-weight: 600; }
table.results .marks { margin-top: 2px; line-height: 20px; }
td.nowrap { white-space: nowrap; }
tr.failed td { background: var(--bad-bg); }
tr.wrong td { background: #fff8f7; }
table.facts th { text-align: left; background: none; width: 9em; }
table.translations { font-size: 14px; margin: 4px 0 6px; }
table.translations td { border: none; padding: 1px 10px 1px 0; }
table.translations td:first-child { color: var(--muted); white-space: nowrap; }
td.words { font-size: 13.5px; }
.scroll { overflow-x: auto; }
.verdict { font-size: 16px; }
.note, figcaption { color: var(--muted); font-size: 14px; }
.bad { color: var(--bad); }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600;
         line-height: 18px; vertical-align: 1px; white-space: nowrap; }
.badge.good { background: var(--good-bg); color: var(--good); }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
figure { margin: 10px 0 18px; }
figure img { display: block; max-width: 100%; height: auto; }
.example { margin: 18px 0 26px; }
.example h3 { font-size: 20px; font-weight: 500; }
.num-label { color: var(--muted); font-size: 15px; margin-right: 4px; }
.failure { border-left: 4px solid var(--bad); background: var(--bad-bg); padding: 6px 14px; margin: 14px 0; }
.failure p { margin: 6px 0; }
.warning { border-left: 4px solid #d4a72c; background: var(--warn-bg); padding: 6px 14px; margin: 14px 0; }
.warning p { margin: 6px 0; }
.warning ul { margin: 4px 0 8px; padding-left: 22px; font-size: 14px; }
details summary { cursor: pointer; color: var(--muted); font-size: 13px; }
pre { background: var(--soft); padding: 10px 12px; overflow-x: auto; font-size: 12.5px; line-height: 1.45;
      white-space: pre-wrap; word-break: break-word; }
.failure pre, .warning pre { background: #fff; }
code { font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"""


def headline(results: Sequence[RunResult], profile: str) -> str:
    """The header's one-paragraph summary."""
    parts = []
    ranked = _ranked(results)
    floor = bleu_floor(profile)
    nmt = _nmt(results)
    if nmt:
        parts.append(f"{len(nmt)} Chinese → English translation model{'s' if len(nmt) != 1 else ''} "
                     f"(a GRU or LSTM encoder-decoder with Bahdanau or Luong attention) and an IMDB sentiment "
                     f"classifier, trained in the <b>{esc(profile)}</b> profile." if any(
                         r.spec.kind == "sentiment" for r in results) else
                     f"{len(nmt)} Chinese → English translation model{'s' if len(nmt) != 1 else ''}, trained "
                     f"in the <b>{esc(profile)}</b> profile.")
    elif results:
        parts.append(f"The IMDB sentiment classifier, trained in the <b>{esc(profile)}</b> profile.")
    if ranked:
        best, worst = ranked[0], ranked[-1]
        line = (f"The best translator is <b>{esc(best.name)}</b> with greedy BLEU "
                f"{fmt(metric(best.summary, 'bleu_greedy'))}")
        if len(ranked) > 1:
            line += (f"; the weakest, <b>{esc(worst.name)}</b>, scores "
                     f"{fmt(metric(worst.summary, 'bleu_greedy'))}")
        parts.append(line + ".")
        under = [r.name for r in ranked if floor is not None and _number(metric(r.summary, "bleu_greedy")) < floor]
        if under:
            parts.append(f'<span class="bad">{esc(", ".join(under))} '
                         f'{"is" if len(under) == 1 else "are"} below the BLEU floor of {fmt(floor)}.</span>')
    for r in results:
        if r.spec.kind == "sentiment" and r.ok:
            acc = _number(metric(r.summary, "test_accuracy"))
            thr = _number(metric(r.summary, "threshold")) or SENTIMENT_THRESHOLD
            if acc is not None:
                verdict_text = "meets" if acc >= thr else '<span class="bad">misses</span>'
                parts.append(f"Sentiment test accuracy is {acc:.3f}, which {verdict_text} the "
                             f"{thr:.2f} threshold.")
    raised = [r.name for r in results if r.ok and r.cell_errors]
    if raised:
        parts.append(f"Cells raised errors (such as a failing graded check) in {esc(', '.join(raised))}.")
    failed = [r.name for r in results if not r.ok]
    if failed:
        parts.append(f'<span class="bad"><b>{len(failed)} run{"s" if len(failed) != 1 else ""} '
                     f'failed or did not run: {esc(", ".join(failed))}.</b></span>')
    return " ".join(parts)


def render(results: Sequence[RunResult], profile: str, command: str | None = None,
           machine: Mapping[str, str] | None = None) -> str:
    """The whole report as one HTML string."""
    machine = machine_info() if machine is None else machine
    command = command or f"make report PROFILE={profile}"
    sections = [section_results(results, profile), section_curves(results) if _nmt(results) else "",
                section_attention(results) if _nmt(results) else "", section_sentiment(results),
                section_about(results, profile, command, machine)]
    titles = {"results": "Results", "curves": "Training curves", "attention": "Attention",
              "sentiment": "Sentiment", "about": "About"}
    nav = " ".join(f'<a href="#{key}">{title}</a>' for key, title in titles.items()
                   if any(f'id="{key}"' in s for s in sections))
    body = "".join(sections)
    font = embedded_font_css(body)
    date = machine.get("Date", "")
    plural = "s" if len(results) != 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Seq2seq with attention: results ({esc(profile)} profile)</title>
<style>
{font}{CSS}</style>
</head>
<body>
<main>
<header>
<h1>Sequence-to-sequence learning with attention: results</h1>
<p class="sub">Profile <b>{esc(profile)}</b> · {esc(date)} · {len(results)} run{plural}</p>
<p class="summary">{headline(results, profile)}</p>
<nav>{nav}</nav>
</header>
{body}
<footer>Generated by <code>python -m tools.report</code>; this page is self-contained
(no network access needed).</footer>
</main>
</body>
</html>
"""


def write_report(results: Sequence[RunResult], out: Path, profile: str, command: str | None = None,
                 machine: Mapping[str, str] | None = None) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render(results, profile, command, machine)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out


# --------------------------------------------------------------------------- command line

def parse_only(text: str | None) -> list[str]:
    if not text:
        return list(RUNS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown run(s) {', '.join(unknown)}; known: {', '.join(RUNS)}")
    return [n for n in RUNS if n in names]  # the report's order, each once


def main(argv: Sequence[str] | None = None, executor: Callable | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default=None,
                        help="auto|full|cpu|smoke (default: $COURSE_PROFILE or auto; with --no-run, "
                             "the profile the summaries were made in)")
    parser.add_argument("--only", type=parse_only, default=None, metavar="RUN,RUN",
                        help=f"only these runs (default all: {','.join(RUNS)})")
    parser.add_argument("--cell", choices=CELLS, default="gru", help="recurrent cell of the Luong runs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the HTML file (default report/index.html)")
    parser.add_argument("--no-run", action="store_true",
                        help="only re-render from the existing run_summary.json files")
    parser.add_argument("--runs-dir", type=Path, default=RUNS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint-dir", type=Path, default=CHECKPOINT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = args.only or list(RUNS)

    try:
        profile = resolve_profile(args.profile)
    except ValueError as error:
        parser.error(str(error))
    if args.no_run:
        results = collect(names, args.runs_dir, args.cell)
        made_in = {(r.summary or {}).get("profile") for r in results if r.ok} - {None}
        if (args.profile or "auto").lower() == "auto" and len(made_in) == 1:
            profile = made_in.pop()
    else:
        print(f"make report: {len(names)} run(s) in profile {profile}, one after the other", file=sys.stderr)
        run_all(names, profile, args.cell, args.runs_dir, args.checkpoint_dir, executor)
        results = collect(names, args.runs_dir, args.cell)

    command = f"make report PROFILE={profile}"
    if args.only:
        command += f" ONLY={','.join(names)}"
    if args.cell != "gru":
        command += f" CELL={args.cell}"
    command += f"\n# or: .venv/bin/python -m tools.report --profile {profile}"
    command += f" --only {','.join(names)}" if args.only else ""
    command += f" --cell {args.cell}" if args.cell != "gru" else ""
    out = write_report(results, args.out, profile, command)
    bad = [r for r in results if not r.ok]
    print(f"wrote {out} ({len(results)} run(s)"
          + (f"; FAILED or missing: {', '.join(r.name for r in bad)})" if bad else ", all ok)"), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
