"""Tests of the NMT lab (solutions/nmt/nmt.ipynb) and its plumbing (coursekit.plotting).

The notebook's tagged code cells (data preparation, model, decoding) are executed
once in the ``smoke`` profile without the training cell, so the model is
untrained: these tests check behaviour (decoding rules, error messages, the
split, the plotting), not translation quality, which the notebook's own BLEU
check covers in the cpu and full profiles.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from coursekit import ROOT, plotting, profiles
from coursetools.bench.step import NOTEBOOK, load_lab
from tests.support.notebook_cells import cells_by_id, graded_check, load

LAB_TAGS = ("setup", "data", "model", "build", "decode", "plot")


@pytest.fixture(scope="module")
def lab():
    return load_lab(NOTEBOOK, tags=LAB_TAGS, profile="smoke")


@pytest.fixture(scope="module")
def known_sentences(lab):
    """Training sentences (every character has an embedding), shortest first for speed."""
    sentences = sorted(set(lab["train_df"]["chinese"]), key=lambda s: (len(s), s))
    return sentences[:: max(1, len(sentences) // 12)][:12]


@pytest.mark.parametrize(
    "grade_id",
    [
        "encoder_output_and_state_shapes",
        "attention_weights_sum_to_one",
        "decoder_logits_shape",
        "greedy_equals_beam_width_one",
        "translate_returns_clean_text",
    ],
)
def test_graded_checks_pass_as_in_jupyterlab_and_as_while_grading(lab, grade_id):
    source = cells_by_id(load("nmt"))[grade_id].source
    exec(compile(source, grade_id, "exec"), dict(lab))  # as in JupyterLab
    for seed in (1, 2):  # fresh inputs, verdict outside
        exec(compile(source, grade_id, "exec"), {**lab, "check": graded_check("nmt", "smoke", seed)})


def _words(lab, ids):
    return " ".join(lab["tgt_itos"][i] for i in ids)


def test_greedy_equals_beam_width_one(lab, known_sentences):
    for sentence in known_sentences:
        ids = lab["encode_source"](sentence)
        greedy, greedy_attention = lab["greedy_search"](ids, lab["MAX_TARGET_WORDS"])
        beam, beam_attention = lab["beam_search"](ids, 1, lab["MAX_TARGET_WORDS"])
        assert beam == greedy, f"beam(k=1) {_words(lab, beam)!r} != greedy {_words(lab, greedy)!r} for {sentence!r}"
        np.testing.assert_array_equal(np.array(beam_attention), np.array(greedy_attention))
        assert lab["translate"](sentence, beam_width=1)[0] == _words(lab, greedy)


@pytest.mark.parametrize("beam_width", [1, 3])
def test_translate_output_contract(lab, known_sentences, beam_width):
    for sentence in known_sentences[:4]:
        text, attention = lab["translate"](sentence, beam_width=beam_width, max_length=7)
        words = text.split()
        assert "<start>" not in words and "<end>" not in words and "<pad>" not in words
        assert len(words) <= 7, "max_length must cap the translation"
        assert attention.shape == (len(words), len(lab["chinese_tokens"](sentence)))
        if len(words):
            np.testing.assert_allclose(attention.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("sentence", ["", "   ", "\u200b", "\n\t"])
def test_empty_input_gives_clear_value_error(lab, sentence):
    with pytest.raises(ValueError, match="empty"):
        lab["translate"](sentence)


def test_unknown_character_gives_clear_value_error(lab, known_sentences):
    unseen = "\U0002000b"  # a rare CJK Extension B character, absent from the data
    assert unseen not in lab["src_stoi"]
    sentence = known_sentences[0] + unseen
    with pytest.raises(ValueError) as info:
        lab["translate"](sentence)
    assert not isinstance(info.value, KeyError)
    message = str(info.value)
    assert unseen in message and "never appear in the training data" in message
    with pytest.raises(ValueError, match="beam_width"):
        lab["translate"](known_sentences[0], beam_width=0)


def test_held_out_split_does_not_leak(lab):
    pairs, mask = lab["pairs"], lab["held_out_mask"]
    keys = pairs["source_key"]
    # the data really has repeated sources, so a row-level split could leak
    assert keys.duplicated().sum() > 1000
    train_keys, held_keys = set(keys[~mask]), set(keys[mask])
    assert not train_keys & held_keys, "a held-out source sentence also occurs in training"
    assert not set(lab["train_df"]["source_key"]) & set(lab["held_out_df"]["source_key"])
    # whole groups move together, and the split is about the requested size
    assert pairs[mask].groupby("source_key").size().sum() == mask.sum()
    assert 0.04 < len(held_keys) / keys.nunique() < 0.06
    # deterministic: same seed, same split; another seed, another split
    split = lab["split_by_source"]
    again = split(keys.tolist(), lab["HELD_OUT_FRACTION"], lab["SEED"])
    np.testing.assert_array_equal(again, mask)
    assert not np.array_equal(split(keys.tolist(), lab["HELD_OUT_FRACTION"], lab["SEED"] + 1), mask)


def test_normalisation_merges_full_width_variants(lab):
    assert lab["chinese_tokens"]("你好？") == lab["chinese_tokens"]("你好?") == ["你", "好", "?"]
    assert lab["english_tokens"]("Don't stop, Tom!") == ["don't", "stop", ",", "tom", "!"]


def _draw_and_collect_glyph_warnings(fig):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_heatmap_uses_shipped_font_without_missing_glyphs(lab, known_sentences, tmp_path):
    import matplotlib.pyplot as plt

    assert plotting.FONT_FILE == ROOT / "fonts" / "TaipeiSansTCBeta-Regular.ttf"
    sentence = "你今晚會去派對嗎?我们明天去公园吧。"
    chars = lab["chinese_tokens"](sentence)
    words = ["will", "you", "go", "to", "the", "party", "tonight", "?"]
    weights = np.random.default_rng(0).dirichlet(np.ones(len(chars)), size=len(words))
    fig = plotting.heatmap(weights, chars, words, title=f"{sentence} → {' '.join(words)}")
    try:
        assert _draw_and_collect_glyph_warnings(fig) == []
        family = plotting.register_cjk_font()
        labels = fig.axes[0].get_xticklabels()
        assert [t.get_text() for t in labels] == chars
        assert labels[0].get_fontproperties().get_family()[0] == family
        fig.savefig(tmp_path / "heatmap.png")
        assert (tmp_path / "heatmap.png").stat().st_size > 1000
    finally:
        plt.close(fig)

    # the notebook's own plot_attention, on an (untrained) translation
    fig = lab["plot_attention"](known_sentences[-1])
    try:
        assert _draw_and_collect_glyph_warnings(fig) == []
    finally:
        plt.close("all")


def test_glyph_check_detects_a_missing_font():
    """Negative control: without the shipped font, Chinese labels do warn."""
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.family": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_xticks([0], labels=["貓"])
    try:
        assert _draw_and_collect_glyph_warnings(fig), "expected a missing-glyph warning"
    finally:
        plt.close(fig)


def test_heatmap_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        plotting.heatmap(np.zeros((2, 3)), ["a", "b"], ["x", "y"])


def test_nmt_profiles():
    settings = profiles.SETTINGS["nmt"]
    assert set(settings) == set(profiles.NAMES)
    full = settings["full"]
    assert (full["embedding_dim"], full["units"], full["batch_size"], full["epochs"]) == (256, 1024, 128, 50)
    keys = set(full)
    for name in profiles.NAMES:
        assert set(settings[name]) == keys, f"profile {name} has different settings"
        assert settings[name]["bleu_floor"] > 1.0, "the BLEU floor must be one an untrained model fails"


@pytest.mark.integration
def test_bench_runs_both_implementations_side_by_side():
    """Plumbing only (a tiny model): `make bench` must keep working; it is never a timed test."""
    from coursetools.bench import step as bench

    (row,) = bench.run(units_list=(8,), steps=1, sample=2)
    for side in ("classic", "lab"):
        assert row[f"{side}_step"] > 0 and row[f"{side}_epoch"] > 0 and row[f"{side}_trace"] > 0
    assert row["speedup"] > 0 and row["epoch_speedup"] > 0 and row["words"] > 100_000


def test_batched_searches_equal_one_sentence_at_a_time(lab, known_sentences):
    """The BLEU cell decodes in batches; each sentence must get the translation it gets alone."""
    from coursekit import nmt

    ids = [lab["encode_source"](s) for s in known_sentences]
    args = (lab["MAX_TARGET_WORDS"], lab["START_ID"], lab["END_ID"])
    assert nmt.greedy_batch(lab["encode"], lab["decode_step"], ids, *args, batch_size=5) == [
        lab["greedy_search"](s, lab["MAX_TARGET_WORDS"])[0] for s in ids
    ]
    assert nmt.beam_batch(lab["encode"], lab["decode_step"], ids, 3, *args, batch_size=5) == [
        lab["beam_search"](s, 3, lab["MAX_TARGET_WORDS"])[0] for s in ids
    ]


def test_validation_split_is_carved_from_training_sources_only(lab):
    data = lab["data"]
    validation = set(data.validation_df["source_key"])
    assert validation and not validation & set(data.train_df["source_key"])
    assert not validation & set(data.held_out_df["source_key"])


def test_bench_before_settings_name_only_settings_the_profiles_know():
    """`make bench` replays the old settings through COURSE_SETTINGS, which refuses unknown names."""
    from coursetools.bench import quality as bench_quality

    assert set(bench_quality.NMT_BEFORE) <= set(profiles.SETTINGS["nmt"]["cpu"])
    for lab, before in bench_quality.BEFORE.items():
        assert set(before) <= set(profiles.SETTINGS[lab]["cpu"]), lab
