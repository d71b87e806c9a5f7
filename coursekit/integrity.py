"""Tamper detection inside a graded kernel.

The graded checks run in the same Python process as the student's answer, so
an answer could replace an object a check relies on (``np.mean = lambda *a:
1.0`` makes any accuracy look perfect). The autograder therefore adds two kinds
of cells to every rebuilt submission (students never see them):

* a *snapshot* cell just before the first answer cell, when only locked code
  has run: it records every module, function and class the checks can reach
  (the names their source uses, every builtin, the public functions of NumPy
  and ``numpy.testing``) and the interpreter's hooks;
* a *verify* cell after every graded check and at the end: it compares what
  those names resolve to now with the snapshot, by identity, and reports any
  replaced object and any hook added since (IPython event callbacks,
  ``sys.settrace``/``sys.setprofile``, import hooks).

Each report is one line written to the stdout stream that existed at snapshot
time, so replacing ``print`` or ``sys.stdout`` does not silence it (a missing or
malformed report is itself treated as tampering). The grader outside the
kernel parses the reports: a check during which anything was replaced gets 0
points and the submission is flagged for manual review.

This catches the patches a student can make by accident or on purpose with
ordinary code. It is not a proof against code written to attack this module
itself; the sandbox, the flag and a person's review are the rest of the defence.
"""

from __future__ import annotations

import builtins
import json
import sys

MARKER = "COURSEKIT-INTEGRITY"

_state: dict = {}


def _resolve(namespace: dict, dotted: str):
    """Look ``a.b.c`` up the way code in the notebook would: globals, then builtins."""
    head, *rest = dotted.split(".")
    if head in namespace:
        obj = namespace[head]
    elif hasattr(builtins, head):
        obj = getattr(builtins, head)
    else:
        raise LookupError(dotted)
    for attr in rest:
        obj = getattr(obj, attr)
    return obj


def _guardable(obj) -> bool:
    """Modules, functions, classes and other callables: what a check calls, not data it reads."""
    return callable(obj) or type(obj).__name__ == "module"


def _from_notebook(obj) -> bool:
    """Whether a callback was defined by code typed into the notebook (not by a library)."""
    owner = obj if isinstance(obj, type) else getattr(obj, "__func__", obj)
    module = getattr(owner, "__module__", None) or getattr(type(owner), "__module__", None)
    return module in (None, "__main__", "builtins") and not isinstance(obj, type(len))


def _hooks() -> dict:
    """Hooks code in the notebook could use to run at check time: {kind: ids of the notebook's own}."""
    found = {
        "trace": [id(sys.gettrace())] if sys.gettrace() else [],
        "profile": [id(sys.getprofile())] if sys.getprofile() else [],
        "import hook": [id(f) for f in list(sys.meta_path) + list(sys.path_hooks) if _from_notebook(f)],
    }
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except Exception:  # noqa: BLE001 - not in IPython (tests): no event callbacks to compare
        ip = None
    if ip is not None:
        for name, callbacks in ip.events.callbacks.items():
            found[f"IPython event {name}"] = [id(cb) for cb in callbacks if _from_notebook(cb)]
    return found


# Builtins the kernel itself replaces while it runs (input forwarding, the IPython shell's helpers).
VOLATILE_BUILTINS = {
    "input",
    "raw_input",
    "get_ipython",
    "display",
    "exit",
    "quit",
    "help",
    "copyright",
    "credits",
    "license",
}


def default_names() -> list[str]:
    """Names every check may rely on: all builtins and NumPy's public functions."""
    import numpy

    names = [f"builtins.{n}" for n in dir(builtins) if not n.startswith("_") and n not in VOLATILE_BUILTINS]
    names += [f"numpy.{n}" for n in dir(numpy) if not n.startswith("_")]
    names += [f"numpy.testing.{n}" for n in dir(numpy.testing) if not n.startswith("_")]
    return names


def snapshot(namespace: dict, names: list[str], nonce: str) -> None:
    """Record what ``names`` (and the defaults) resolve to now; write a report line."""
    import numpy

    scope = dict(namespace)
    scope.setdefault("builtins", builtins)
    scope.setdefault("numpy", numpy)
    guarded = {}
    for name in sorted(set(names) | set(default_names())):
        if name in VOLATILE_BUILTINS:
            continue
        try:
            obj = _resolve(scope, name)
        except Exception:  # noqa: BLE001 - a name the notebook broke is not guarded
            continue
        if _guardable(obj):
            guarded[name] = obj
    _state.update(
        nonce=nonce, guarded=guarded, hooks=_hooks(), stdout=sys.stdout, modules={"builtins": builtins, "numpy": numpy}
    )
    _write({"point": "snapshot", "guarded": len(guarded)})


def verify(namespace: dict, point: str) -> None:
    """Compare the guarded names with the snapshot; write a report line for ``point``."""
    if not _state:
        _write({"point": point, "error": "no snapshot"}, stream=sys.stdout)
        return
    scope = dict(namespace)
    scope.update(_state["modules"])
    changed = []
    for name, original in _state["guarded"].items():
        lookup = _state["modules"] if name.startswith(("builtins.", "numpy.")) else scope
        try:
            now = _resolve(lookup, name)
        except Exception:  # noqa: BLE001 - a name that is gone or broken counts as changed
            now = None
        if now is not original:
            changed.append(name)
    before = _state["hooks"]
    added = sorted(kind for kind, ids in _hooks().items() if set(ids) - set(before.get(kind, [])))
    _write({"point": point, "changed": sorted(set(changed)), "hooks": added})


def _write(report: dict, stream=None) -> None:
    report["nonce"] = _state.get("nonce", "")
    stream = stream or _state.get("stdout") or sys.stdout
    stream.write(f"{MARKER} {json.dumps(report, sort_keys=True)}\n")
    stream.flush()


def parse_reports(text: str) -> list[dict]:
    """The integrity reports contained in a cell's stdout text (used by the grader)."""
    reports = []
    for line in text.splitlines():
        if line.startswith(MARKER + " "):
            try:
                reports.append(json.loads(line[len(MARKER) + 1 :]))
            except ValueError:
                reports.append({"error": "malformed report"})
    return reports
