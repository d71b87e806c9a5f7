"""Gather what each section of the page shows, as plain values for its template.

One function per section; each returns None when the section has nothing to show (no translation
run, no sentiment run). The numbers stay numbers: the templates format them (``formatting``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coursekit import profiles

from .collect import RunResult, metric, nmt, number, records
from .figures import attention_image, sentiment_curves, translation_curves, weights_problem
from .formatting import DASH, fmt_int
from .verdict import Verdict, sentiment_accuracy


def _epochs(summary: Mapping | None) -> tuple[object, int | None]:
    """Epochs trained, and the epoch whose weights were kept when early stopping picked another."""
    epochs = metric(summary, "epochs")
    best = number(metric(summary, "best_epoch"))
    if best is None or number(epochs) is None or round(best) == number(epochs):
        return epochs, None
    return epochs, round(best)


def results_section(results: Sequence[RunResult], verdict: Verdict) -> dict | None:
    """The translation runs' table (one row per run, finished or not) and the notes under it."""
    runs = nmt(results)
    if not runs:
        return None
    finished = [r for r in runs if r.ok]
    widths = {number(metric(r.summary, "beam_width")) for r in finished} - {None}
    below = {s.name for s in verdict.under}
    rows = []
    for r in runs:
        if not r.ok:
            rows.append({"result": r})
            continue
        greedy = number(metric(r.summary, "bleu_greedy"))
        epochs, best_epoch = _epochs(r.summary)
        rows.append(
            {
                "result": r,
                "best": verdict.best is not None and r.name == verdict.best.name and len(verdict.ranked) > 1,
                "below_floor": r.name in below,
                "attention": (r.summary or {}).get("attention") or DASH,
                "cell": (r.summary or {}).get("cell") or DASH,
                "greedy": greedy,
                "beam": metric(r.summary, "bleu_beam"),
                "beam_width": metric(r.summary, "beam_width") if len(widths) != 1 else None,
                "train_seconds": metric(r.summary, "train_seconds"),
                "epochs": epochs,
                "best_epoch": best_epoch,
                "seconds_per_epoch": metric(r.summary, "seconds_per_epoch"),
                "parameters": metric(r.summary, "parameters"),
                "restored": metric(r.summary, "restored"),
            }
        )
    held = {fmt_int(metric(r.summary, "held_out_sources")) for r in finished} - {DASH}
    return {
        "rows": rows,
        "beam_width": int(next(iter(widths))) if len(widths) == 1 else None,
        "held_out": next(iter(held)) if len(held) == 1 else None,
        "restored": any(metric(r.summary, "restored") is True for r in finished),
        "scores": [{"run": r.name, "score": r.spec.score} for r in runs if r.spec.score],
    }


def curves_section(results: Sequence[RunResult]) -> dict | None:
    """The translation runs' training curves on shared axes (no image if no run has a history)."""
    if not nmt(results):
        return None
    histories = {r.name: records(r.summary, "history") for r in nmt(results) if r.ok}
    histories = {name: h for name, h in histories.items() if h}
    return {"image": translation_curves(histories) if histories else None}


def attention_section(results: Sequence[RunResult]) -> dict | None:
    """Per example sentence: every run's translation and attention heatmap, and what could not be drawn."""
    if not nmt(results):
        return None
    runs = [r for r in nmt(results) if r.ok]
    by_run = {r.name: {str(ex.get("source")): ex for ex in records(r.summary, "examples")} for r in runs}
    sources: list[str] = []
    for r in runs:
        for source in by_run[r.name]:
            if source not in sources:
                sources.append(source)
    examples = []
    for source in sources:
        panels = [(r.name, by_run[r.name][source]) for r in runs if source in by_run[r.name]]
        missing = [r.name for r in runs if source not in by_run[r.name]]
        problems = [f"{run}: {p}" for run, ex in panels if (p := weights_problem(ex))]
        if missing:
            problems.append(f"not among the examples of {', '.join(missing)}")
        examples.append(
            {
                "source": source,
                "translations": [(run, ex.get("translation") or DASH) for run, ex in panels],
                "image": attention_image(source, panels),
                "problems": problems,
            }
        )
    return {"examples": examples}


def sentiment_section(results: Sequence[RunResult]) -> dict | None:
    """The sentiment run's accuracy, curves and most-attended words (or why it has none)."""
    found = [r for r in results if r.spec.kind == "sentiment"]
    if not found:
        return None
    r = found[0]
    if not r.ok:
        return {"result": r}
    history = records(r.summary, "history")
    top = []
    for t in records(r.summary, "top_words"):
        label, predicted = t.get("label"), t.get("predicted")
        top.append(
            {
                "review": t.get("review", DASH),
                "label": label or DASH,
                "predicted": predicted or DASH,
                "wrong": label is not None and predicted is not None and label != predicted,
                "probability": t.get("probability"),
                "words": t.get("words") if isinstance(t.get("words"), list) else [],
            }
        )
    right = sum(
        1
        for t in records(r.summary, "top_words")
        if t.get("label") is not None and t.get("label") == t.get("predicted")
    )
    return {
        "result": r,
        "accuracy": sentiment_accuracy(r),
        "train_seconds": metric(r.summary, "train_seconds"),
        "epochs": metric(r.summary, "epochs"),
        "parameters": metric(r.summary, "parameters"),
        "image": sentiment_curves(history) if history else None,
        "top_words": top,
        "right": right,
    }


def about_section(results: Sequence[RunResult], profile: str, machine: Mapping[str, str]) -> dict:
    """The profile, the machine, and per run its notebook, environment, status and time."""
    facts = [("Profile", f"{profile} ({profiles.ENV_VAR}={profile})"), *machine.items()]
    runs = []
    for r in results:
        ran = (r.summary or {}).get("profile")
        runs.append(
            {
                "result": r,
                "env": " ".join(f"{k}={v}" for k, v in r.spec.env.items()),
                "status": r.status if r.status in ("ok", "failed") else "missing",
                "ran_in": ran if ran and ran != profile else None,
                "cell_errors": len(r.cell_errors) if r.ok else 0,
            }
        )
    return {"facts": facts, "runs": runs}
