"""Answers the demo classes hand in: the reference solution as a student types it, and typical mistakes."""

from __future__ import annotations

GENERAL_SCORE_WITHOUT_MASK = """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values):
        # The signature of the original course: no mask parameter, so padding is attended to.
        scores = tf.einsum("bu,btu->bt", query, self.W_a(values))
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights"""

# Bodies of the answer cell: a mistake or an attack each, otherwise a correct layer.
HONEST_VARIANTS = {
    "sentiment": {
        "dot-product": """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, query, values, mask=None):
        # Forgot W_a: this is Luong's *dot* score, not the general one.
        scores = tf.einsum("bu,btu->bt", query, values)
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        attention_weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights""",
        "crashes": """\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units)

    def call(self, query, values, mask=None):
        # Multiplies (batch, units) by (batch, max_len, units): the ranks do not match.
        scores = tf.matmul(query, self.W_a(values))
        attention_weights = tf.nn.softmax(scores, axis=1)
        context_vector = tf.reduce_sum(attention_weights * values, axis=1)
        return context_vector, attention_weights""",
    },
}


def _prepend(code: str, body: str) -> str:
    return code.rstrip("\n") + "\n\n\n" + body
