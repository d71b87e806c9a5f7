"""Training-step throughput of the NMT lab against the classic per-step implementation.

Run with ``python -m coursetools.bench.step`` (``--help`` for options). The lab's model
and training step are not copied here: the code cells tagged ``model`` in
``solutions/nmt/nmt.ipynb`` (together with the ``setup`` and ``data`` cells,
which build the vocabularies) are executed and their ``build_model`` and
``make_train_step`` are used. The baseline below re-implements the classic
tutorial's training step faithfully, with its structure:

* the attention layer computes ``W1(encoder_outputs)`` inside every call, i.e.
  at every decoder step;
* the decoder is called once per target word from a Python ``for`` loop inside
  ``tf.function`` (so the traced graph holds one copy of the step per word),
  each call runs a one-step ``keras.layers.GRU`` and the vocabulary projection.

Two bugs of the classic code are fixed in the baseline so that both sides
compute the same function (they do not change its cost): the decoder GRU gets
its previous state as ``initial_state``, and the loss is the masked mean over
real words. Both sides get identical fixed-shape batches of random non-padding
ids (batch 128, source length 46, target length 38 as in the classic code) and
the vocabulary sizes of the shipped data, so neither benefits from the lab's
length bucketing.

Two speed-ups are reported per model size:

* **fixed shapes** -- the ratio of median step times on those identical
  46 x 38 batches: what the implementation alone gains (keys and projection);
* **an epoch of real data** -- each side trains on the shipped training split the
  way its notebook feeds it: the classic code pads every batch to 46 x 38 (so its
  step time is the fixed-shape one), the lab uses its length-bucketed batches.
  The lab's epoch is estimated from ``--sample`` of its batches picked evenly
  across the length range (times the number of batches); both sides see the same
  sentences, so the ratio is also the ratio of target words per second.

Trace time (building the graph, first call) is reported separately.
Timings depend on the machine and on how many cores TensorFlow may use; pin
the process (``taskset -c 1``) and set ``TF_NUM_INTRAOP_THREADS`` for numbers
comparable across runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from coursekit import ROOT

NOTEBOOK = ROOT / "solutions" / "nmt" / "nmt.ipynb"
CELL_TAGS = ("setup", "data", "model")

BATCH = 128
SOURCE_LEN = 46
TARGET_LEN = 38
EMBEDDING_DIM = 256


def load_lab(notebook: Path = NOTEBOOK, tags=CELL_TAGS, profile: str = "full", quiet: bool = True) -> dict:
    """Execute the notebook's code cells carrying one of ``tags``; return their namespace.

    ``profile`` picks the run profile the cells see (the vocabulary depends on it:
    ``full`` keeps every training word, as the course configuration does).
    ``quiet`` hides what the cells print.
    """
    import contextlib
    import io
    from unittest import mock

    import nbformat

    from coursekit.profiles import ENV_VAR

    nb = nbformat.read(str(notebook), as_version=4)
    namespace: dict = {"__name__": "__nmt_lab__"}
    with (
        mock.patch.dict(os.environ, {ENV_VAR: profile}),
        contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext(),
    ):
        for cell in nb.cells:
            if cell.cell_type == "code" and set(cell.metadata.get("tags", ())) & set(tags):
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "cell")
                exec(compile(cell.source, f"<{notebook.name}:{grade_id}>", "exec"), namespace)
    return namespace


def classic_train_step(
    src_vocab: int, tgt_vocab: int, embedding_dim: int, units: int, start_id: int, learning_rate: float = 1e-3
):
    """The classic tutorial's training step (per-step keys and projection, unrolled loop)."""
    import keras
    import tensorflow as tf

    encoder, decoder = _classic_model(src_vocab, tgt_vocab, embedding_dim, units)
    optimizer = keras.optimizers.Adam(learning_rate)
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    enc_out, enc_state = encoder(tf.ones((1, 2), tf.int32), tf.zeros((1, units)))
    decoder(tf.ones((1, 1), tf.int32), enc_state, enc_out)
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer.build(variables)

    @tf.function(
        input_signature=[tf.TensorSpec((BATCH, SOURCE_LEN), tf.int32), tf.TensorSpec((BATCH, TARGET_LEN), tf.int32)]
    )
    def train_step(inp, targ):
        loss = 0.0
        words = tf.reduce_sum(tf.cast(targ[:, 1:] != 0, tf.float32))
        with tf.GradientTape() as tape:
            enc_output, dec_hidden = encoder(inp, tf.zeros((BATCH, units)))
            dec_input = tf.fill((BATCH, 1), start_id)
            for t in range(1, TARGET_LEN):  # Python loop: unrolled while tracing
                predictions, dec_hidden, _ = decoder(dec_input, dec_hidden, enc_output)
                mask = tf.cast(targ[:, t] != 0, tf.float32)
                loss += tf.reduce_sum(loss_object(targ[:, t], predictions) * mask)
                dec_input = tf.expand_dims(targ[:, t], 1)
            loss = loss / words
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    return train_step


def _classic_model(src_vocab: int, tgt_vocab: int, embedding_dim: int, units: int):
    """The classic tutorial's encoder and decoder, as it wrote them (the layers are the baseline)."""
    import keras
    import tensorflow as tf

    class Attention(keras.layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.W1 = keras.layers.Dense(units)
            self.W2 = keras.layers.Dense(units)
            self.V = keras.layers.Dense(1)

        def call(self, query, values):
            score = self.V(tf.nn.tanh(self.W1(values) + self.W2(tf.expand_dims(query, 1))))
            weights = tf.nn.softmax(score, axis=1)
            return tf.reduce_sum(weights * values, axis=1), weights

    def gru():
        return keras.layers.GRU(units, return_sequences=True, return_state=True, recurrent_initializer="glorot_uniform")

    class Encoder(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.embedding = keras.layers.Embedding(src_vocab, embedding_dim)
            self.gru = gru()

        def call(self, x, hidden):
            return self.gru(self.embedding(x), initial_state=hidden)

    class Decoder(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.embedding = keras.layers.Embedding(tgt_vocab, embedding_dim)
            self.gru = gru()
            self.fc = keras.layers.Dense(tgt_vocab)
            self.attention = Attention(units)

        def call(self, x, hidden, enc_output):
            context, weights = self.attention(hidden, enc_output)  # W1(enc_output) every step
            x = tf.concat([tf.expand_dims(context, 1), self.embedding(x)], axis=-1)
            output, state = self.gru(x, initial_state=hidden)  # state carried (bug fixed)
            return self.fc(tf.reshape(output, (-1, units))), state, weights  # projection every step

    return Encoder(), Decoder()


def lab_train_step(
    lab: dict, src_vocab: int, tgt_vocab: int, embedding_dim: int, units: int, learning_rate: float = 1e-3
):
    encoder, decoder, optimizer = lab["build_model"](src_vocab, tgt_vocab, embedding_dim, units, learning_rate)
    return lab["make_train_step"](encoder, decoder, optimizer)


def seconds(train_step, source, target) -> float:
    """Wall time of one training step, waiting for its result."""
    start = time.perf_counter()
    float(train_step(source, target))
    return time.perf_counter() - start


def time_step(train_step, source, target, steps: int) -> dict:
    """Trace time, first call, and the median of ``steps`` timed calls (seconds)."""
    start = time.perf_counter()
    train_step.get_concrete_function()
    trace = time.perf_counter() - start
    first = seconds(train_step, source, target)
    step = statistics.median(seconds(train_step, source, target) for _ in range(steps))
    return dict(trace=trace, first=first, step=step)


def lab_epoch_seconds(train_step, batches, sample: int) -> float:
    """Estimated seconds for one epoch over ``batches``: ``sample`` of them, evenly spread over
    the range of batch lengths, are timed and their mean is multiplied by the number of batches."""
    order = sorted(range(len(batches)), key=lambda i: batches[i][0].size + batches[i][1].size)
    picks = [order[int((k + 0.5) * len(order) / sample)] for k in range(sample)]
    return len(batches) * statistics.mean(seconds(train_step, *batches[i]) for i in picks)


def run(units_list=(1024, 256), steps: int = 3, sample: int = 8, seed: int = 0) -> list[dict]:
    import keras
    import numpy as np
    import tensorflow as tf

    lab = load_lab()
    src_vocab, tgt_vocab = lab["SRC_VOCAB_SIZE"], lab["TGT_VOCAB_SIZE"]
    rng = np.random.default_rng(seed)
    source = tf.constant(rng.integers(1, src_vocab, (BATCH, SOURCE_LEN)), tf.int32)
    target = tf.constant(rng.integers(4, tgt_vocab, (BATCH, TARGET_LEN)), tf.int32)
    target = tf.concat([tf.fill((BATCH, 1), lab["START_ID"]), target[:, 1:]], axis=1)
    print(
        f"vocabularies from the data: {src_vocab:,} Chinese characters, {tgt_vocab:,} English "
        f"words; batch {BATCH}, source length {SOURCE_LEN}, target length {TARGET_LEN}, "
        f"embedding {EMBEDDING_DIM}; TensorFlow intra-op threads: "
        f"{os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}",
        flush=True,
    )
    batches = [
        (np.asarray(s), np.asarray(t)) for s, t in lab["make_batches"](lab["train_src"], lab["train_tgt"], BATCH, rng)
    ]
    words = sum(int((t[:, 1:] != 0).sum()) for _, t in batches)
    print(
        f"real data: {len(lab['train_src']):,} training pairs, {len(batches)} batches of up to "
        f"{BATCH}, {words:,} target words per epoch",
        flush=True,
    )
    rows = []
    for units in units_list:
        row = {"units": units}
        for name, make in [
            (
                "classic",
                lambda units=units: classic_train_step(src_vocab, tgt_vocab, EMBEDDING_DIM, units, lab["START_ID"]),
            ),
            ("lab", lambda units=units: lab_train_step(lab, src_vocab, tgt_vocab, EMBEDDING_DIM, units)),
        ]:
            keras.backend.clear_session()
            train_step = make()
            result = time_step(train_step, source, target, steps)
            if name == "classic":  # every classic batch is padded to the same 46 x 38 shape
                result["epoch"] = len(batches) * result["step"]
            else:
                result["epoch"] = lab_epoch_seconds(train_step, batches, sample)
            row.update({f"{name}_{k}": v for k, v in result.items()})
            print(
                f"  units {units:5d}  {name:8s} trace {result['trace']:6.1f} s   first call "
                f"{result['first']:6.1f} s   step {result['step']:7.2f} s   epoch "
                f"{result['epoch'] / 60:6.1f} min",
                flush=True,
            )
            del train_step
        row["speedup"] = row["classic_step"] / row["lab_step"]
        row["epoch_speedup"] = row["classic_epoch"] / row["lab_epoch"]
        row["words"] = words
        rows.append(row)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--units", type=int, nargs="+", default=[1024, 256], help="GRU sizes to compare (default: 1024 256)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=3,
        help="timed fixed-shape steps per implementation after the first call (default: 3)",
    )
    parser.add_argument(
        "--sample", type=int, default=8, help="real-data batches timed to estimate the lab's epoch (default: 8)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    rows = run(args.units, args.steps, args.sample)
    print(
        f"\n{'':5s}  {'fixed 46 x 38 batches: step time':32s}  {'epoch of real data (estimate)':32s}"
        f"  before the first step"
    )
    print(
        f"units  {'classic':>9s} {'lab':>9s} {'speed-up':>9s}   {'classic':>9s} {'lab':>9s} "
        f"{'speed-up':>9s}   classic / lab"
    )
    for r in rows:
        # trace + graph optimisation: the first call minus one ordinary step
        ready = {k: r[f"{k}_trace"] + r[f"{k}_first"] - r[f"{k}_step"] for k in ("classic", "lab")}
        print(
            f"{r['units']:5d}  {r['classic_step']:7.2f} s {r['lab_step']:7.2f} s {r['speedup']:8.1f}x"
            f"   {r['classic_epoch'] / 60:5.1f} min {r['lab_epoch'] / 60:5.1f} min "
            f"{r['epoch_speedup']:8.1f}x   {ready['classic']:5.1f} s / {ready['lab']:.1f} s"
        )
    r = rows[0]
    print(
        f"\ntarget words per second at {r['units']} units: classic "
        f"{r['words'] / r['classic_epoch']:,.0f}, lab {r['words'] / r['lab_epoch']:,.0f}"
    )


if __name__ == "__main__":
    main()
