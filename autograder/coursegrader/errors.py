"""What stops a grading run before it grades anyone: errors the command line turns into a message.

Library code raises these (never ``SystemExit``); :mod:`coursegrader.cli` prints the message and
exits with :attr:`GradingError.exit_code`. Anything else escaping a run is a bug of ours.
"""

from __future__ import annotations


class GradingError(Exception):
    """A run that cannot start or go on; the message says what to do."""

    exit_code = 2


class ConfigurationError(GradingError):
    """A setting that cannot work: an unknown assignment or profile, a demo class in a folder of real
    submissions, a sandbox required but missing."""


class NbgraderFailed(GradingError):
    """An nbgrader command the whole run depends on failed (its log says why)."""
