"""Answers that try to spend the grading machine, or to outlive their grading (hostile demo class).

Each is the reference layer (or runs before it) plus one way of taking more than a submission
may: the disk, files, processes and threads, the grader's memory through the kernel's own
channels, and a daemon meant to keep running after grading. ``expected_scores.csv`` holds the
status each must get (the limit and the cell, :mod:`coursegrader.limits`), and the score of what
ran before it was stopped; the daemon changes nothing and is gone when grading ends.
"""

from __future__ import annotations


def layer_with(hook: str) -> str:
    """The reference layer, running ``hook`` (one indented block) at the start of every call."""
    return f"""\
class LuongAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.W_a = keras.layers.Dense(units, use_bias=False)

    def call(self, query, values, mask=None):
        {hook}
        scores = tf.einsum("bu,btu->bt", query, self.W_a(values))
        if mask is not None:
            scores = tf.where(mask, scores, -1e9)
        weights = tf.nn.softmax(scores, axis=1)[:, :, tf.newaxis]
        return tf.reduce_sum(weights * values, axis=1), weights"""


WRITES_EVERYWHERE = """\
# Once the layer sees a training batch (the checks before have passed), fills every place a
# kernel can write: its working folder, /tmp, /dev/shm and the folder of its own sockets, round
# robin, 32 MiB of random bytes at a time (nothing a file system could compress), until stopped.
import os
from ipykernel.connect import get_connection_file


def _fill_the_disk():
    places = [".", "/tmp", "/dev/shm", os.path.dirname(get_connection_file())]
    block, n = os.urandom(2**20) * 32, 0
    while True:
        for place in places:
            try:
                with open(os.path.join(place, f"filler-{n}.bin"), "wb") as f:
                    f.write(block)
            except OSError:
                pass
        n += 1


""" + layer_with(
    "if query.shape[0] is not None and query.shape[0] >= 32:  # a training batch, never a check's\n"
    "            _fill_the_disk()"
)

MAKES_FILES_WITHOUT_END = """\
# Creates empty files in nested folders without end: no disk space to speak of, but inodes, and
# a working folder slow to walk.
import os
_n = 0
while True:
    _folder = os.path.join("tree", str(_n // 1000))
    os.makedirs(_folder, exist_ok=True)
    open(os.path.join(_folder, f"{_n}.txt"), "w").close()
    _n += 1"""

THREADS_WITHOUT_END = """\
# Starts threads without end the first time the layer is called (in the first check): each one
# takes a slot in the machine's process table, which the grader needs too.
import threading, time


def _start_threads():
    while True:
        try:
            threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
        except RuntimeError:  # "can't start new thread": try again
            time.sleep(0.01)


""" + layer_with("_start_threads()")

FLOODS_THE_GRADER = """\
# Sends the grader output without printing anything: one message of 4,096 parts of 1 MiB on the
# kernel's own iopub socket (the same MiB each time, never copied: it costs the kernel nothing).
# No limit inside the kernel sees it, and each part is small enough for a per-message size limit;
# the grader's side must still not keep 4 GiB.
get_ipython().kernel.iopub_socket.send_multipart([b"x" * 2**20] * 4096, copy=False)
import time
time.sleep(30)"""

OUTLIVES_GRADING = """\
# Leaves a daemon behind: forks twice, starts a session of its own, ignores hang-ups and
# terminations, and sleeps for an hour under a name that says what it is, long after grading.
import os, signal
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.execvp("sleep", ["sleep-outlives-grading", "3600"])
    os._exit(0)
os.wait()"""

#: The marker the daemon of :data:`OUTLIVES_GRADING` carries in its command line.
DAEMON_MARKER = "sleep-outlives-grading"
