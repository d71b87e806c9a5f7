"""``python -m coursegrader.run_nbgrader ARGS``: nbgrader's command line (``nbgrader ARGS``), started lighter.

Every unit of ``make grade`` is one ``nbgrader autograde`` process, so what such a process
imports is paid once per distinct submission. jsonschema, which nbformat imports, loads
``rfc3987_syntax`` whenever it is installed (jupyter-events asks for it), and that module
compiles its lark grammars at import: about a CPU-second in every process, for a format
("iri") that no notebook schema uses. :func:`skip_slow_optional_imports` leaves it out;
jsonschema treats it as not installed (it imports it under ``suppress(ImportError)``), so
notebook validation is unchanged.

It runs tethered to the grader (:mod:`coursegrader.tether`), like every unit's process.
"""

from __future__ import annotations

import sys

#: Optional modules a grading process never needs and that are slow to import.
SKIPPED = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make ``import`` of the :data:`SKIPPED` modules fail, before anything imported them."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)


def main() -> None:
    skip_slow_optional_imports()
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
