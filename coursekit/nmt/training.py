"""Training epoch by epoch, with checkpoints, validation curves and early stopping."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bleu import teacher_forced_metrics
from .dataset import TranslationData


def checkpoint_dir(run: str, profile_name: str, env: dict | None = None) -> Path:
    """``$NMT_CHECKPOINT_DIR/<run>-<profile>`` (``checkpoints/`` next to the notebook by default)."""
    import os

    env = os.environ if env is None else env
    return Path(env.get("NMT_CHECKPOINT_DIR", "checkpoints")) / f"{run}-{profile_name}"


class TrainingLog:
    """Per-epoch records (loss, validation loss and accuracy, seconds) kept next to a checkpoint.

    The history is saved as ``history.json`` in the checkpoint folder whenever a checkpoint is
    written, so a notebook that restores a model instead of training it can still plot its curves.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.epochs: list[dict] = []

    @property
    def path(self) -> Path:
        return self.folder / "history.json"

    def add(self, **record) -> dict:
        record = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in record.items()}
        self.epochs.append(record)
        return record

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.epochs, indent=1))

    def load(self) -> list[dict]:
        self.epochs = json.loads(self.path.read_text()) if self.path.exists() else []
        return self.epochs


@dataclass
class Training:
    """What :func:`fit` did: the per-epoch log, and whether the model was restored or trained."""

    log: TrainingLog
    restored: bool
    seconds: float
    best_epoch: int

    @property
    def history(self) -> list[dict]:
        return self.log.epochs


def fit(
    train_step: Callable,
    eval_step: Callable,
    data: TranslationData,
    checkpoint,
    folder: Path,
    *,
    epochs: int,
    batch_size: int,
    patience: int | None,
    seed: int,
    out=print,
    on_epoch: Callable[[dict], None] | None = None,
) -> Training:
    """Train epoch by epoch with checkpoints, validation curves and early stopping, or restore.

    If ``folder`` already holds a checkpoint, it is restored with its history and nothing is
    trained. Otherwise every epoch runs ``train_step`` on each training batch, then measures the
    teacher-forced validation loss and accuracy with ``eval_step``; the checkpoint is saved
    whenever the validation loss improves, training stops after ``patience`` epochs without
    improvement (``None``: never early), and the best epoch's weights are restored at the end.
    ``on_epoch(record)`` is called after each epoch with the current weights (``make bench`` measures
    BLEU there; its time is not counted in the epoch's seconds).
    """
    import tensorflow as tf

    manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1)
    log = TrainingLog(folder)
    if manager.latest_checkpoint:
        return _restore(manager, checkpoint, log, folder, out)

    rng = np.random.default_rng(seed)
    start, best_loss, best_epoch = _now(), np.inf, 0
    for epoch in range(1, epochs + 1):
        losses, step_times, seconds = _train_epoch(train_step, data, batch_size, rng, first=epoch == 1, out=out)
        record = _validate(log, eval_step, data, epoch, losses, step_times, seconds)
        validation_loss, validation_accuracy = record["validation_loss"], record["validation_accuracy"]
        improved = validation_loss < best_loss
        if improved:
            best_loss, best_epoch = validation_loss, epoch
            manager.save(checkpoint_number=epoch)
        log.save()
        out(
            f"epoch {epoch:2d}  loss {record['train_loss']:.3f}  validation loss {validation_loss:.3f}  "
            f"accuracy {validation_accuracy:.3f}  {seconds:5.1f} s  (median step "
            f"{record['ms_per_step']:.0f} ms){'  *' if improved else ''}"
        )
        if on_epoch is not None:
            on_epoch(record)
        if patience and epoch - best_epoch >= patience:
            out(f"no improvement for {patience} epochs: stopping early")
            break
    seconds = _now() - start
    checkpoint.restore(manager.latest_checkpoint)
    out(
        f"training took {seconds:.0f} s; kept epoch {best_epoch} (validation loss {best_loss:.3f}; * = improved, saved)"
    )
    return Training(log, False, seconds, best_epoch)


def _restore(manager, checkpoint, log: TrainingLog, folder: Path, out) -> Training:
    """The checkpoint already in ``folder``, with its history: nothing is trained."""
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    log.load()
    best = min(log.epochs, key=lambda e: e["validation_loss"])["epoch"] if log.epochs else 0
    out(
        f"Found checkpoint {manager.latest_checkpoint}: restored it and SKIPPED training "
        f"(delete {folder} to train again)."
    )
    return Training(log, True, sum(e["seconds"] for e in log.epochs), best)


def _train_epoch(train_step: Callable, data: TranslationData, batch_size: int, rng, *, first: bool, out):
    """One pass over the training batches: (losses, seconds per step, seconds of the epoch). The
    first step of the first epoch is announced: it includes tracing the step into a graph."""
    epoch_start, losses, step_times = _now(), [], []
    for source, target in data.batches(batch_size, rng):
        step_start = _now()
        losses.append(float(train_step(source, target)))
        step_times.append(_now() - step_start)
        if first and len(losses) == 1:
            out(f"first step (tracing and graph optimisation included): {step_times[0]:.1f} s")
    return losses, step_times, _now() - epoch_start


def _validate(log: TrainingLog, eval_step: Callable, data: TranslationData, epoch, losses, step_times, seconds) -> dict:
    """The epoch's teacher-forced validation loss and accuracy, logged with its training numbers."""
    validation_loss, validation_accuracy = teacher_forced_metrics(eval_step, data.batches(256, split="validation"))
    return log.add(
        epoch=epoch,
        train_loss=float(np.mean(losses)),
        validation_loss=validation_loss,
        validation_accuracy=validation_accuracy,
        seconds=seconds,
        ms_per_step=1000 * float(np.median(step_times)),
    )


def _now() -> float:
    import time

    return time.perf_counter()
