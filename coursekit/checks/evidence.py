"""Evidence as data: how a probe's results leave the kernel, and how the grader reads them back.

Evidence is plain data: dicts, lists, strings, numbers and NumPy arrays. Arrays
travel as ``{"__ndarray__": {"dtype", "shape", "data" (base64)}}``, never pickled,
so reading evidence back runs no code of the kernel's. :func:`decode` accepts only
plain dtypes and refuses evidence larger than ``limit`` bytes.

While grading, :func:`hand_out` publishes one record per check as a Jupyter
display output of type :data:`MIME`; the grader, outside the kernel, finds it in
the check cell's outputs and removes it before anything is shown to anybody.
The grader's request file (its path in :data:`REQUESTS_VAR`) says which checks to
gather evidence for and with which inputs; its presence is what "grading mode" means.
"""

from __future__ import annotations

import base64
import json
import math
import os
from typing import Any

import numpy as np

MIME = "application/vnd.coursekit.evidence+json"
REQUESTS_VAR = "COURSEKIT_EVIDENCE"
"""Environment variable naming the grader's request file (set only while grading)."""

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64")
LIMIT = 64 * 2**20
"""The most evidence (bytes of array data and text) the grader reads from one check."""


class MalformedEvidence(ValueError):
    """Evidence that is not plain data of the allowed kinds and size."""


def grading_requests(env=os.environ) -> dict | None:
    """``{"nonce": ..., "requests": {grade_id: request}}`` while grading, else None."""
    path = env.get(REQUESTS_VAR)
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        found = json.load(f)
    return {"nonce": found.get("nonce", ""), "requests": decode(found.get("requests", {}))}


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data, arrays (and tensors) as base64 records."""
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow tensor or variable
        value = value.numpy()
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.name not in DTYPES:
            return encode(array.tolist())
        return {
            "__ndarray__": {
                "dtype": array.dtype.name,
                "shape": list(array.shape),
                "data": base64.b64encode(array.tobytes()).decode("ascii"),
            }
        }
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__repr__": f"<{type(value).__name__}>"}


def decode(value: Any, limit: int = LIMIT) -> Any:
    """The data :func:`encode` produced, with arrays back as NumPy arrays.

    Raises :class:`MalformedEvidence` for anything else: unknown records, dtypes
    outside :data:`DTYPES`, a shape that does not match the bytes, more than ``limit`` bytes.
    """
    budget = [limit]

    def spend(n: int) -> None:
        budget[0] -= n
        if budget[0] < 0:
            raise MalformedEvidence(f"more than {limit // 2**20} MiB of evidence")

    def walk(v: Any, depth: int) -> Any:
        if depth > 20:
            raise MalformedEvidence("evidence nested too deeply")
        if isinstance(v, dict):
            if set(v) == {"__ndarray__"}:
                return array(v["__ndarray__"])
            if set(v) == {"__float__"}:
                if v["__float__"] not in ("nan", "inf", "-inf"):
                    raise MalformedEvidence("unknown float")
                return float(v["__float__"])
            if set(v) == {"__repr__"}:
                spend(len(str(v["__repr__"])))
                return str(v["__repr__"])
            spend(sum(len(str(k)) for k in v))
            return {str(k): walk(x, depth + 1) for k, x in v.items()}
        if isinstance(v, list):
            spend(8 * len(v))
            return [walk(x, depth + 1) for x in v]
        if isinstance(v, str):
            spend(len(v))
            return v
        if v is None or isinstance(v, (bool, int, float)):
            spend(8)
            return v
        raise MalformedEvidence(f"a {type(v).__name__} is not evidence")

    def array(record: Any) -> np.ndarray:
        if not isinstance(record, dict) or set(record) != {"dtype", "shape", "data"}:
            raise MalformedEvidence("malformed array record")
        dtype, shape, data = record["dtype"], record["shape"], record["data"]
        if dtype not in DTYPES or not isinstance(data, str) or not isinstance(shape, list):
            raise MalformedEvidence(f"array of type {dtype!r} is not accepted")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise MalformedEvidence("malformed array shape")
        spend(len(data))
        try:
            raw = base64.b64decode(data.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raise MalformedEvidence("array data is not base64") from None
        if len(raw) != math.prod(shape) * np.dtype(dtype).itemsize:
            raise MalformedEvidence("array data does not match its shape")
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()

    return walk(value, 0)


def record(grade_id: str, nonce: str, evidence: dict) -> dict:
    """The display record :func:`hand_out` publishes."""
    return {"grade_id": grade_id, "nonce": nonce, "evidence": encode(evidence)}


def hand_out(grade_id: str, nonce: str, evidence: dict) -> None:
    """Publish one check's evidence as a display output of the running cell."""
    from IPython.display import publish_display_data

    publish_display_data(
        {MIME: record(grade_id, nonce, evidence), "text/plain": f"[evidence for {grade_id}, handed to the grader]"}
    )
