"""``python -m coursegrader.run_nbgrader ARGS``: nbgrader's command line (``nbgrader ARGS``), started lighter.

Every unit of ``make grade`` is one ``nbgrader autograde`` process, so what such a process
imports is paid once per distinct submission. jsonschema, which nbformat imports, loads
``rfc3987_syntax`` whenever it is installed (jupyter-events asks for it), and that module
compiles its lark grammars at import: about a CPU-second in every process, for a format
("iri") that no notebook schema uses. :func:`skip_slow_optional_imports` leaves it out;
jsonschema treats it as not installed (it imports it under ``suppress(ImportError)``), so
notebook validation is unchanged.

The process also dies with the process that started it (:func:`die_with_parent`): a Dask
worker that is killed while it grades takes its ``nbgrader autograde`` and so its kernel
(bubblewrap's ``--die-with-parent``) along, instead of leaving them grading for nobody while
Dask runs the unit again elsewhere.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: Optional modules a grading process never needs and that are slow to import.
SKIPPED = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make ``import`` of the :data:`SKIPPED` modules fail, before anything imported them."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent ends (elsewhere: nothing to do)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent was already gone before the request took effect
        os._exit(1)


def main() -> None:
    die_with_parent()
    skip_slow_optional_imports()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
