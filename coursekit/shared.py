"""Work that every student's notebook does alike, done once for a whole class while grading.

The cells of a lab above its first answer cell are the lab's own in every graded notebook (the
grader puts the released cells back), so what they compute is the same in every student's
kernel: the cleaned reviews, for example, which take seconds to make. A lab wraps such a
value in :func:`once`::

    train_kept, val_kept, test_kept = shared.once("imdb_kept_texts", lambda: (...))

In JupyterLab, in Validate and everywhere else, ``once`` just returns ``compute()``. While a
class is graded, the grader first runs the lab's cells above the first answer once, with no
student code, in a kernel like the graded ones (the sandbox, the data with the held-out truth
withheld), where ``once`` also writes each value down; it then hands every graded kernel a
read-only copy of those values, next to its request file, and ``once`` reads the value there
instead of computing it again.

Use it only in locked cells above the first answer cell (below it, a student's code could
change what ``compute`` returns) and only for values that depend on nothing but the lab's code,
its profile and its data. A value is a list of strings, a NumPy array of numbers or booleans,
or a tuple of those; it is stored as JSON and ``.npy`` files, never pickled.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .checks.evidence import REQUESTS_VAR

FOLDER = "shared"
"""Where the values are: next to the request file (graded kernels), under the working folder (the
grader's preparing run, whose request file says ``"share": "write"``)."""
NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def once(name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, or, while a class is graded, the value the grader computed once for it."""
    if not NAME.match(name):
        raise ValueError(f"shared value names are lower-case letters, digits and _: {name!r}")
    mode, folder = _mode()
    if mode == "read" and (folder / f"{name}.json").is_file():
        return _load(folder, name)
    value = compute()
    if mode == "write":
        _save(folder, name, value)
    return value


def _mode() -> tuple[str | None, Path]:
    path = os.environ.get(REQUESTS_VAR)
    if not path:
        return None, Path()
    try:
        with open(path, encoding="utf-8") as f:
            writing = json.load(f).get("share") == "write"
    except (OSError, ValueError, AttributeError):
        return None, Path()
    return ("write", Path.cwd() / FOLDER) if writing else ("read", Path(path).parent / FOLDER)


def _save(folder: Path, name: str, value: Any) -> None:
    folder.mkdir(exist_ok=True)
    items = list(value) if isinstance(value, tuple) else [value]
    described = []
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray) and item.dtype.kind in "biuf":
            np.save(folder / f"{name}.{i}.npy", item, allow_pickle=False)
            described.append({"array": f"{name}.{i}.npy"})
        elif isinstance(item, list) and all(isinstance(s, str) for s in item):
            described.append({"strings": item})
        else:
            raise TypeError(f"shared value {name!r}: a list of str or a numeric array, not {type(item).__name__}")
    manifest = {"tuple": isinstance(value, tuple), "items": described}
    (folder / f"{name}.json").write_text(json.dumps(manifest), encoding="utf-8")


def _load(folder: Path, name: str) -> Any:
    manifest = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    items = []
    for item in manifest["items"]:
        if "array" in item:
            items.append(np.load(folder / Path(item["array"]).name, allow_pickle=False))
        else:
            items.append([str(s) for s in item["strings"]])
    return tuple(items) if manifest["tuple"] else items[0]
