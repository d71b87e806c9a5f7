"""A lab run's numbers as JSON: what `make report` reads (``run_summary.json``).

Each notebook's last cell calls :func:`save_summary`; the report (a tool outside
this package) reads the files back with :func:`load_summary`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import profiles

SUMMARY_FILE = "run_summary.json"
"""What :func:`save_summary` writes into the notebook's working folder."""


def _jsonable(value: Any) -> Any:
    """``value`` with NumPy/TensorFlow scalars and arrays, tuples, sets and paths made JSON-ready.

    Non-finite floats become ``None`` (JSON has no NaN).
    """
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "numpy") and callable(value.numpy):  # a TensorFlow tensor or variable
        return _jsonable(value.numpy())
    if hasattr(value, "tolist"):  # NumPy arrays and scalars (np.float32, np.int64, np.bool_, ...)
        return _jsonable(value.tolist())
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"save_summary: cannot store {type(value).__name__} {value!r} as JSON")


def save_summary(summary: Mapping[str, Any], folder: str | Path | None = None) -> Path:
    """Write ``summary`` as ``run_summary.json`` into ``folder`` (default: the working directory).

    The notebooks call this in their last cell. NumPy and TensorFlow numbers and arrays are converted
    to plain JSON numbers and lists, text is stored as UTF-8 (Chinese stays readable). ``run`` and
    ``profile`` default to the ``REPORT_RUN`` and ``COURSE_PROFILE`` environment variables when the
    summary does not set them. Returns the path written.
    """
    if not isinstance(summary, Mapping):
        raise TypeError(f"save_summary needs a dict, got {type(summary).__name__}")
    data = _jsonable(summary)
    if not data.get("run") and os.environ.get("REPORT_RUN"):
        data["run"] = os.environ["REPORT_RUN"]
    if not data.get("profile") and os.environ.get(profiles.ENV_VAR):
        data["profile"] = os.environ[profiles.ENV_VAR]
    path = Path.cwd() if folder is None else Path(folder)
    path = path / SUMMARY_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path.resolve()


def load_summary(path: str | Path) -> dict:
    """Read a ``run_summary.json`` (or the one in folder ``path``). Raises ValueError if it is not a dict."""
    path = Path(path)
    if path.is_dir():
        path = path / SUMMARY_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, not a summary object")
    return data
