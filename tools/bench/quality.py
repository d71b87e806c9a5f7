"""Quality per second: a lab's notebook with its previous cpu settings and with the current ones.

``python -m coursetools.bench.quality --lab sentiment`` executes the sentiment notebook
twice in the ``cpu`` profile, one run after the other in one process, each in a fresh
scratch folder under the system's temporary directory:

* **before**: the notebook as it was at ``BEFORE_REV`` (read with ``git show``), with the
  settings it was tuned with (``BEFORE``, passed through ``COURSE_SETTINGS``, which
  ``coursekit.profiles.select`` honours). Without git history (a bundle copied without
  ``.git``) it falls back to the current notebook with ``BEFORE`` and says so in the row;
* **after**: the current notebook with the current ``cpu`` settings.

Each row gives the training loop's own time, the training seconds until the first epoch
whose validation accuracy reaches the graded threshold (0.80; the test set is scored
once, after training), the whole notebook's seconds (kernel start included), and the
test accuracy that the graded check computes. ``--cells`` adds the seconds of every code
cell. The machine's load changes from minute to minute, so compare rows of one run only.

For the NMT labs (``--lab nmt``, ``--lab nmt_luong``) the held-out BLEU is only computed at
the end of a notebook, so the time to quality is measured by training the lab's own model
(its notebook cells, imported) epoch by epoch with ``coursekit.nmt.fit`` and scoring greedy
BLEU on the held-out sentences after every epoch, outside the timed part. That BLEU is a
measurement only; the notebooks choose their epoch on the validation split. Rows: the
cpu settings before the time cut (``NMT_BEFORE``) and the current ones, both with today's
code, and for the Bahdanau lab also the whole notebook as it was at ``BEFORE_REV`` against
today's (which adds the batched decoding for BLEU).

The autograder runs the same notebook inside its sandbox, so a graded submission takes a
few seconds longer than the notebook seconds here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import nbformat

from coursekit import ROOT, profiles
from coursekit.checks.sentiment import THRESHOLD

NOTEBOOKS = {lab: ROOT / "solutions" / lab / f"{lab}.ipynb" for lab in ("sentiment", "nmt", "nmt_luong")}

#: The last commit before the sentiment lab's time cut, and the cpu settings it ran with
#: (two epochs).
BEFORE_REV = "443596e"
BEFORE = {"sentiment": dict(epochs=2)}


def before_notebook(lab: str) -> tuple[nbformat.NotebookNode, str]:
    """The lab's notebook at ``BEFORE_REV`` and a label; the current one if git cannot give it."""
    path = NOTEBOOKS[lab]
    try:
        text = subprocess.run(
            ["git", "show", f"{BEFORE_REV}:{path.relative_to(ROOT).as_posix()}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return nbformat.reads(text, as_version=4), f"before ({BEFORE_REV})"
    except (OSError, subprocess.CalledProcessError):
        return nbformat.read(path, as_version=4), "before settings, current notebook"


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def run_notebook(nb: nbformat.NotebookNode, overrides: dict | None = None, profile: str = "cpu") -> dict:
    """Execute ``nb`` in a fresh scratch folder; seconds per code cell, total seconds, outputs."""
    from nbclient import NotebookClient

    env = {profiles.ENV_VAR: profile}
    if overrides:
        env[getattr(profiles, "OVERRIDES_VAR", "COURSE_SETTINGS")] = json.dumps(overrides)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        with tempfile.TemporaryDirectory(prefix="bench-quality-") as workdir:
            client = NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": workdir}})
            cells = []
            start = time.monotonic()
            with client.setup_kernel():
                cells.append(("(kernel start)", time.monotonic() - start))
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    t = time.monotonic()
                    client.execute_cell(cell, index)
                    cells.append(
                        (cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}"), time.monotonic() - t)
                    )
            total = time.monotonic() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    outputs = {c.metadata.get("nbgrader", {}).get("grade_id"): text_of(c) for c in nb.cells if c.cell_type == "code"}
    return {"cells": cells, "seconds": total, "outputs": outputs}


def sentiment_summary(run: dict) -> dict:
    """What the sentiment notebook printed: training times, validation and test accuracy."""
    training = run["outputs"].get("training", "")
    epochs = [
        (int(n), float(acc), float(sec))
        for n, acc, sec in re.findall(r"epoch (\d+)/\d+: .*?validation accuracy ([\d.]+) \((\d+) s\)", training)
    ]
    to_threshold, elapsed = None, 0.0
    for _, acc, sec in epochs:
        elapsed += sec
        if acc >= THRESHOLD:
            to_threshold = elapsed
            break
    took = re.search(r"training took (\d+) s", training)
    graded = re.search(r"Test accuracy (0\.\d+) >= 0\.80", run["outputs"].get("test_accuracy_at_least_0_80", ""))
    printed = re.search(r"Test accuracy on [\d,]+ held-out reviews: (0\.\d+)", run["outputs"].get("evaluation", ""))
    cell = dict(run["cells"])
    return {
        "epochs": len(epochs),
        "training_seconds": float(took.group(1)) if took else None,
        "training_cell_seconds": cell.get("training"),
        "seconds_to_threshold": to_threshold,
        "best_validation": max((a for _, a, _ in epochs), default=None),
        "test_accuracy": float((graded or printed).group(1)) if (graded or printed) else None,
        "graded_check_passed": graded is not None,
        "notebook_seconds": run["seconds"],
    }


def sentiment_rows(cells: bool = False) -> list[dict]:
    """Run the sentiment notebook with the before and the current cpu settings; one row each."""
    old_nb, label = before_notebook("sentiment")
    runs = [
        (label, old_nb, BEFORE["sentiment"]),
        ("after (current cpu settings)", nbformat.read(NOTEBOOKS["sentiment"], as_version=4), None),
    ]
    rows = []
    for setting, nb, overrides in runs:
        run = run_notebook(nb, overrides)
        shown = overrides or {
            k: v for k, v in profiles.SETTINGS["sentiment"]["cpu"].items() if k in BEFORE["sentiment"]
        }
        row = {
            "lab": "sentiment",
            "setting": setting,
            "settings": ", ".join(f"{k}={v}" for k, v in shown.items()),
            **sentiment_summary(run),
        }
        if cells:
            row["cells"] = run["cells"]
        rows.append(row)
    return rows


# ---- NMT: training seconds to the BLEU floor and to the issue's goal, per epoch, before vs after
NMT_LABS = {"nmt": "bahdanau", "nmt_luong": "luong-general"}
#: the NMT cpu settings before the time cut (443596e): ten epochs at 2e-3, no early stop
NMT_BEFORE = dict(epochs=10, learning_rate=2e-3, patience=None)
NMT_GOAL = 17.8  # greedy BLEU the cpu profile reached before the time cut (issue 12)

NMT_WORKER = """
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from pathlib import Path
from coursekit import ROOT, nmt
from coursetools.bench.step import load_lab
lab_name, folder = sys.argv[1], Path(sys.argv[2])
lab = load_lab(ROOT / "solutions" / lab_name / f"{lab_name}.ipynb",
               tags=("setup", "data", "model", "build", "decode"), profile="cpu")
import tensorflow as tf
profile, data = lab["profile"], lab["data"]
args = (lab["strategy"],) if lab_name == "nmt_luong" else ()
train_step = lab["make_train_step"](*args, lab["encoder"], lab["decoder"], lab["optimizer"])
eval_step = lab["make_eval_step"](lab["encoder"], lab["decoder"])
checkpoint = tf.train.Checkpoint(encoder=lab["encoder"], decoder=lab["decoder"], optimizer=lab["optimizer"])
sources, references, _ = data.evaluation_set()
ids = [data.encode_source(s) for s in sources]
def bleu(search, **kw):
    out = search(lab["encode"], lab["decode_step"], ids, max_length=data.max_target_words,
                 start_id=data.start_id, end_id=data.end_id, **kw)
    return nmt.corpus_bleu([data.words(w) for w in out], references).score
def measure(record):  # BLEU of the current weights after each epoch: measurement only, not selection
    print(json.dumps(dict(epoch=record["epoch"], seconds=record["seconds"], greedy=bleu(nmt.greedy_batch))), flush=True)
training = nmt.fit(train_step, eval_step, data, checkpoint, folder, epochs=profile.epochs,
                   batch_size=profile.batch_size, patience=profile.patience, seed=lab["SEED"],
                   out=lambda *a: None, on_epoch=measure)
print(json.dumps(dict(final=True, seconds=training.seconds, epochs=len(training.history),
                      best_epoch=training.best_epoch, greedy=bleu(nmt.greedy_batch),
                      beam=bleu(nmt.beam_batch, beam_width=profile.beam_width))), flush=True)
"""


def nmt_run(lab: str, overrides: dict | None) -> dict:
    """Train ``lab`` in a fresh process; per-epoch greedy BLEU, final greedy and beam BLEU."""
    floor = profiles.SETTINGS[lab]["cpu"]["bleu_floor"]
    env = dict(os.environ, **{profiles.ENV_VAR: "cpu", profiles.OVERRIDES_VAR: json.dumps(overrides or {})})
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as folder:
        done = subprocess.run([sys.executable, "-c", NMT_WORKER, lab, folder], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{lab} training failed:\n{done.stderr[-2000:]}")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    epochs, final = [r for r in records if "final" not in r], records[-1]

    def seconds_to(level):
        elapsed = 0.0
        for r in epochs:
            elapsed += r["seconds"]
            if r["greedy"] >= level:
                return elapsed
        return None

    return dict(
        lab=lab,
        training_seconds=final["seconds"],
        epochs=final["epochs"],
        best_epoch=final["best_epoch"],
        seconds_to_floor=seconds_to(floor),
        seconds_to_goal=seconds_to(NMT_GOAL),
        greedy=final["greedy"],
        beam=final["beam"],
        per_epoch=[round(r["greedy"], 2) for r in epochs],
    )


def nmt_rows(lab: str, cells: bool = False) -> list[dict]:
    """Time to quality of an NMT lab: before/after settings, and (Bahdanau) the whole notebook."""
    floor = profiles.SETTINGS[lab]["cpu"]["bleu_floor"]
    runs = [("after (current cpu settings)", None)]
    if lab == "nmt":
        runs.insert(0, ("before (settings of " + BEFORE_REV + ")", NMT_BEFORE))
    rows = []
    for setting, overrides in runs:
        shown = overrides or {k: profiles.SETTINGS[lab]["cpu"][k] for k in NMT_BEFORE}
        trained = nmt_run(lab, overrides)
        rows.append(
            {
                "lab": lab,
                "setting": setting,
                "settings": ", ".join(f"{k}={v}" for k, v in shown.items()),
                "epochs": trained["epochs"],
                "training_seconds": trained["training_seconds"],
                "seconds_to_threshold": trained["seconds_to_floor"],
                "threshold": f"greedy BLEU {floor:g}",
                "seconds_to_goal": trained["seconds_to_goal"],
                "goal": f"greedy BLEU {NMT_GOAL:g}",
                "notebook_seconds": None,
                "final": f"greedy {trained['greedy']:.2f} / beam {trained['beam']:.2f} "
                f"(epoch {trained['best_epoch']} kept; per epoch {trained['per_epoch']})",
            }
        )
    if lab == "nmt":
        old_nb, _label = before_notebook(lab)
        for row, nb, overrides in (
            (rows[0], old_nb, NMT_BEFORE),
            (rows[1], nbformat.read(NOTEBOOKS[lab], as_version=4), None),
        ):
            run = run_notebook(nb, overrides)
            row["notebook_seconds"] = run["seconds"]
            if cells:
                row["cells"] = run["cells"]
    return rows


def fmt(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| lab | setting | settings | epochs | training (s) | training to the graded threshold (s) "
        "| training to the goal (s) | whole notebook (s) | final score |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if r["lab"] == "sentiment":
            r.setdefault("threshold", f"val. acc. {THRESHOLD:g}")
            r.setdefault(
                "final",
                f"test accuracy {fmt(r['test_accuracy'], '.4f')} "
                f"(graded check {'passed' if r['graded_check_passed'] else 'failed'})",
            )
        lines.append(
            f"| {r['lab']} | {r['setting']} | {r['settings']} | {r['epochs']} "
            f"| {fmt(r['training_seconds'], '.0f')} "
            f"| {fmt(r['seconds_to_threshold'], '.0f')} ({r.get('threshold', '')}) "
            f"| {fmt(r.get('seconds_to_goal'), '.0f')} ({r.get('goal', 'n/a')}) "
            f"| {fmt(r['notebook_seconds'], '.0f')} | {r['final']} |"
        )
    celled = [r for r in rows if "cells" in r]
    if celled:
        names = list(dict.fromkeys(name for r in celled for name, _ in r["cells"]))
        lines += [
            "",
            "| cell | " + " | ".join(f"{r['lab']}: {r['setting']}" for r in celled) + " |",
            "| --- |" + " --- |" * len(celled),
        ]
        for name in names:
            secs = [dict(r["cells"]).get(name) for r in celled]
            lines.append(f"| {name} | " + " | ".join(fmt(x, ".1f") for x in secs) + " |")
    return "\n".join(lines)


LABS = {
    "sentiment": sentiment_rows,
    "nmt": lambda cells=False: nmt_rows("nmt", cells),
    "nmt_luong": lambda cells=False: nmt_rows("nmt_luong", cells),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lab", choices=sorted(LABS), action="append", help="lab to measure (repeatable; default: all)"
    )
    parser.add_argument("--cells", action="store_true", help="also print the seconds of every code cell")
    args = parser.parse_args(argv)
    rows = []
    for lab in args.lab or sorted(LABS):
        rows += LABS[lab](cells=args.cells)
        print(markdown(rows), flush=True)  # the table so far, in case a later lab fails


if __name__ == "__main__":
    main()
