"""``nbgrader submit`` on the students' side: hand in under your own name only.

nbgrader's submit takes ``--student`` (``CourseDirectory.student_id``) at its word, so on the
course hub a student could hand in under a classmate's name. ``collect`` refuses such a folder
anyway (it belongs to the wrong user: ``autograder/coursegrader/exchange/``); this stops it at
once, with a message that says why. It is a courtesy, not the guarantee: a student controls their
own process and can write into the exchange by hand, which is why collect checks everything.

Links need nothing here: submit copies the files a link points to (what its student can read),
never the link, and collect refuses any link it finds.
"""

from __future__ import annotations

import pwd

from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import get_username


def is_account(name: str) -> bool:
    """Whether ``name`` is a user of this machine."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class OwnNameSubmit(ExchangeSubmit):
    """Refuses ``--student`` naming another user of this machine (``c.ExchangeFactory.submit``).

    A name that is no account here is allowed: on a laptop a TA tries the round trip with made-up
    students, all of them the TA's own user (tests/test_exchange.py)."""

    def init_dest(self):
        named, me = self.coursedir.student_id, get_username()
        if named not in ("", "*", me) and is_account(named):
            self.fail(
                f"You are {me} and can hand in only as yourself, not as {named}: remove --student "
                f"(or CourseDirectory.student_id) and submit again."
            )
        super().init_dest()
