"""The course's nbgrader exchange: the shared-folder exchange, made to know who hands in.

nbgrader's file-system exchange believes what a submission folder's name says. A student
can write into ``inbound/`` (that is how submitting works), so a student can make a folder
there by hand: one named after someone else, later than theirs (``collect`` takes the
newest: her work is replaced), or one whose notebook is a symbolic link to a file only the
instructor can read (``collect``, run by the instructor, copies the target: the student's
feedback shows it). nbgrader only warns about the first (``check_owner``) and follows the
links of the second (``shutil.copytree``); its size check skips links too.

Who made a file is the one thing the file system knows and no user can forge: its owner.
So :class:`~coursegrader.exchange.collect.OwnedCollect` accepts a submission folder only
if the student it names owns it, and copies out of it only what its owner could hand in
(:mod:`.owned`): regular files and folders of theirs, never a link, a FIFO, a device, a
hard link or another file system, within limits of size and count. Every refusal is
reported to the TA by name and reason, nobody else's submission is touched, and each
student gets their latest submission that passes. ``make collect``, ``nbgrader collect``
and formgrader's *Collect* button all use it (``autograder/nbgrader_config.py``).
"""
