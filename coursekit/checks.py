"""Small helpers the notebooks' graded test cells share.

They turn the usual ways a student's attention layer can break (not written
yet, wrong signature, wrong output structure) into assertion messages that say
what to change, instead of a bare traceback from deep inside Keras.
"""
from __future__ import annotations

import numpy as np


def call_attention(layer_cls, units: int, query, values, mask=None):
    """Build ``layer_cls(units)``, call it, and return ``(layer, context, weights)`` as NumPy.

    ``mask`` is passed only when given, so layers without mask support can
    still be checked on unmasked inputs.
    """
    name = getattr(layer_cls, "__name__", str(layer_cls))
    try:
        layer = layer_cls(units)
        out = layer(query, values) if mask is None else layer(query, values, mask=mask)
    except NotImplementedError as err:
        raise AssertionError(
            f"{name} is not implemented yet: replace `raise NotImplementedError()` "
            f"in __init__ and call with your code.") from err
    except TypeError as err:
        if mask is not None and "mask" in str(err):
            raise AssertionError(
                f"{name}.call must accept a `mask` keyword (shape (batch, max_len), True for "
                f"real tokens) so that padding gets no attention: def call(self, query, values, mask=None)."
            ) from err
        raise
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise AssertionError(
            f"{name}.call must return a pair (context_vector, attention_weights); "
            f"it returned {type(out).__name__}.")
    context, weights = out
    return layer, np.asarray(context), np.asarray(weights)
