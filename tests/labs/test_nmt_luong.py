"""Tests of the Luong-attention NMT lab (solutions/nmt_luong/nmt_luong.ipynb) and coursekit.nmt.

The notebook's tagged cells run in the smoke profile (an untrained or barely trained model): these
tests check behaviour (shapes, scores, decoding rules, the distributed step), not translation
quality, which the notebook's BLEU check covers in the cpu and full profiles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from unittest import mock

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from coursekit import ROOT, nmt, profiles
from coursetools.bench.step import load_lab
from tests.support.notebook_cells import graded_check

NOTEBOOK = ROOT / "solutions" / "nmt_luong" / "nmt_luong.ipynb"
TAGS = ("setup", "data", "model", "build", "decode")
CHECKS = (
    "encoder_output_and_state_shapes",
    "luong_scores_match_their_formulas",
    "luong_weights_sum_to_one_and_ignore_padding",
    "decoder_logits_shape",
    "greedy_equals_beam_width_one",
)


def luong_lab(score: str, cell: str) -> dict:
    with mock.patch.dict(os.environ, {"LUONG_SCORE": score, "LUONG_CELL": cell}):
        return load_lab(NOTEBOOK, tags=TAGS, profile="smoke")


def run_check(lab: dict, grade_id: str, check=None) -> None:
    """Run a graded cell in the lab's namespace, with the notebook's own ``check`` or ``check``."""
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    exec(compile(cell.source, f"<{grade_id}>", "exec"), {**lab, **({"check": check} if check else {})})


@pytest.fixture(
    scope="module", params=[("general", "gru"), ("concat", "lstm"), ("dot", "lstm")], ids=lambda p: "-".join(p)
)
def lab(request):
    return luong_lab(*request.param)


@pytest.mark.parametrize("grade_id", CHECKS)
def test_graded_checks_pass_for_every_score_and_cell(lab, grade_id):
    run_check(lab, grade_id)  # as in JupyterLab
    for seed in (1, 2):
        run_check(lab, grade_id, graded_check("nmt_luong", "smoke", seed))  # as while grading


def test_lstm_state_is_two_tensors_and_survives_beam_search(lab):
    state_parts = 2 if lab["CELL"] == "lstm" else 1
    assert len(lab["sample_state"]) == state_parts
    sentence = sorted(set(lab["data"].train_df["chinese"]), key=len)[5]
    for k in (1, 3):
        text, attention = lab["translate"](sentence, beam_width=k, max_length=6)
        assert len(text.split()) <= 6 and attention.shape == (len(text.split()), len(lab["chinese_tokens"](sentence)))


def test_batched_greedy_equals_one_sentence_at_a_time(lab):
    data = lab["data"]
    sentences = sorted(set(data.train_df["chinese"]), key=lambda s: (len(s), s))[::40][:12]
    ids = [data.encode_source(s) for s in sentences]
    batched = nmt.greedy_batch(lab["encode"], lab["decode_step"], ids, 8, data.start_id, data.end_id, batch_size=5)
    single = [nmt.greedy_search(lab["encode"], lab["decode_step"], s, 8, data.start_id, data.end_id)[0] for s in ids]
    assert batched == single


def test_unknown_score_or_cell_is_refused_before_training():
    with pytest.raises(ValueError, match="LUONG_SCORE"):
        luong_lab("cosine", "gru")
    with pytest.raises(ValueError, match="LUONG_CELL"):
        luong_lab("dot", "rnn")


def test_luong_profiles_match_the_bahdanau_lab():
    """Same sizes and floors in every profile, so the two labs' BLEU scores compare like for like."""
    for name in profiles.NAMES:
        luong, bahdanau = profiles.SETTINGS["nmt_luong"][name], profiles.SETTINGS["nmt"][name]
        assert luong["bleu_floor"] == bahdanau["bleu_floor"] and luong["units"] == bahdanau["units"]


DISTRIBUTED = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import tensorflow as tf
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from coursetools.bench.step import load_lab
    lab = load_lab(__import__("pathlib").Path(sys.argv[1]), tags=("setup", "data", "model"), profile="smoke")
    data = lab["data"]
    one = lab["make_strategy"]([])
    two = lab["make_strategy"]([d.name for d in tf.config.list_logical_devices("CPU")])
    models = {}
    for name, strategy in (("one", one), ("two", two)):
        models[name] = lab["build_model"](strategy, len(data.src_itos), len(data.tgt_itos), 8, 8,
                                          os.environ["LUONG_CELL"], os.environ["LUONG_SCORE"], 0.01)
    src_vars = [v for m in models["one"][:2] for v in m.trainable_variables]
    dst_vars = [v for m in models["two"][:2] for v in m.trainable_variables]
    for a, b in zip(src_vars, dst_vars):
        b.assign(a.numpy())
    # 7 rows (an odd batch: the replicas get 4 and 3) of different lengths, padded
    source, target = next(data.batches(7, np.random.default_rng(3)))
    before = [a.numpy() for a in src_vars]
    losses = {}
    for name, strategy in (("one", one), ("two", two)):
        step = lab["make_train_step"](strategy, *models[name])
        losses[name] = float(step(source, target))
    after = [float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(src_vars, dst_vars)]
    moved = max(float(np.max(np.abs(a.numpy() - b))) for a, b in zip(src_vars, before))
    print(json.dumps(dict(replicas=[one.num_replicas_in_sync, two.num_replicas_in_sync],
                          kind=type(two).__name__, losses=losses, max_weight_difference=max(after), moved=moved,
                          variables=len(src_vars), rows=int(source.shape[0]))))
""")


@pytest.mark.integration  # two logical devices in a subprocess: about ten seconds each
@pytest.mark.parametrize("score,cell", [("general", "gru"), ("concat", "lstm")])
def test_distributed_step_equals_single_device_step(score, cell, tmp_path):
    """Two logical CPUs under MirroredStrategy: same loss and same updated weights as one device."""
    script = tmp_path / "distributed.py"
    script.write_text(DISTRIBUTED)
    env = dict(os.environ, LUONG_SCORE=score, LUONG_CELL=cell, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, str(script), str(NOTEBOOK)], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == [1, 2] and result["kind"] == "MirroredStrategy"
    assert result["rows"] == 7
    np.testing.assert_allclose(result["losses"]["two"], result["losses"]["one"], rtol=1e-5)
    assert result["moved"] > 1e-4, "the step should change the weights, or the comparison proves nothing"
    assert result["max_weight_difference"] < 1e-5, result


@pytest.mark.parametrize("beam_width", [2, 4])
def test_batched_beam_search_equals_one_sentence_at_a_time(lab, beam_width):
    data = lab["data"]
    sentences = sorted(set(data.train_df["chinese"]), key=lambda s: (len(s), s))[::35][:14]
    ids = [data.encode_source(s) for s in sentences]
    batched = nmt.beam_batch(
        lab["encode"], lab["decode_step"], ids, beam_width, 9, data.start_id, data.end_id, batch_size=6
    )
    single = [
        nmt.beam_search(lab["encode"], lab["decode_step"], s, beam_width, 9, data.start_id, data.end_id)[0] for s in ids
    ]
    assert batched == single
