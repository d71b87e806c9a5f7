"""Import TensorFlow without its start-up lines.

On a machine without a GPU, ``import tensorflow`` (2.21) and its first device query write
lines like these to the process's standard error (file descriptor 2), which Jupyter shows in
red under the first cell, in every feedback page, and in the terminal:

* ``WARNING: All log messages before absl::InitializeLog() is called are written to STDERR``
* ``I... port.cc:153] oneDNN custom operations are on. ...``
* ``I... cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU
  instructions ...`` and its second line ``To enable the following instructions: ...``
* ``I... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.``
* ``E... cuda_platform.cc:52] failed call to cuInit: ... UNKNOWN ERROR (303)``
* and, at the first masked recurrent layer, ``E... util.cc:131] oneDNN supports DT_BOOL only on
  platforms with AVX-512. Falling back to the default Eigen-based implementation if present.``

The absl, oneDNN and cudart_stub lines are written while TensorFlow's shared libraries load
(each of them twice, as two of the libraries load), through absl's C++ logging, before
TensorFlow applies ``TF_CPP_MIN_LOG_LEVEL``: even ``TF_CPP_MIN_LOG_LEVEL=3`` leaves them, and
no other setting reaches them (absl's own levels are flags of the C++ program, not environment
variables; ``absl.logging`` in Python is a different logger; ``TF_ENABLE_ONEDNN_OPTS=0``
removes the oneDNN line only by switching oneDNN off, which changes the numbers). The
cpu_feature_guard line is an info message that ``TF_CPP_MIN_LOG_LEVEL=1`` would hide. The
cuInit line comes from the first device query; ``CUDA_VISIBLE_DEVICES=""`` does not prevent the
attempt, and as an error-level message only ``TF_CPP_MIN_LOG_LEVEL=3`` hides it, along with
every genuine error.

So :func:`import_tensorflow` imports TensorFlow, lists its devices once (where the cuInit
attempt happens) and runs a tiny masked GRU once (:func:`_warm_up`), while file descriptor 2
goes through a small filter process that drops
exactly the lines above and passes every other byte through, in order. The two CUDA lines
are dropped only where no GPU is expected: no NVIDIA driver is installed
(``profiles.nvidia_driver_present``), or ``CUDA_VISIBLE_DEVICES`` is ``""`` or ``-1``. There
they only say that there is no GPU; on a GPU machine they mean that its CUDA set-up is broken,
and they stay visible. After the import the filter is gone: Python warnings, Keras
``UserWarning`` s, TensorFlow's Python log messages and every C++ message of later cells
(a real error while training included) reach the notebook unchanged, and
``TF_CPP_MIN_LOG_LEVEL`` is left as it is. Anything unexpected while setting the filter up
(no POSIX file descriptors, no way to start the filter) falls back to a plain import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .profiles import allow_memory_growth, nvidia_driver_present

#: Start-up lines dropped on any machine (module-level logs written while the libraries load).
ALWAYS = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"port\.cc:\d+\] oneDNN custom operations are on\.",
    r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.$",
    r"util\.cc:\d+\] oneDNN supports DT_BOOL only on platforms with AVX-512\.",
)
#: Lines dropped only where no GPU is expected (no NVIDIA driver, or every GPU hidden on purpose),
#: since there they only say that there is no GPU.
NO_GPU = (
    r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be used\.",
    r"\] failed call to cuInit: ",
)

# The filter process: copies stdin to stdout line by line, leaving out the lines that match argv[1].
# It runs in its own session, so Jupyter's interrupt (SIGINT to the kernel's process group) does
# not stop it, and it ends when the pipe closes (the import finished, or the kernel died).
_FILTER = (
    "import re, sys\n"
    "drop = re.compile(sys.argv[1].encode())\n"
    "for line in sys.stdin.buffer:\n"
    "    if not drop.search(line.rstrip(b'\\r\\n')):\n"
    "        sys.stdout.buffer.write(line)\n"
    "        sys.stdout.buffer.flush()\n"
)


def startup_pattern(gpu_expected: bool | None = None) -> str:
    """The regular expression of the lines to drop.

    ``gpu_expected``: may TensorFlow find a GPU here? By default, yes when an NVIDIA driver is
    installed and ``CUDA_VISIBLE_DEVICES`` does not hide every GPU; if not, the CUDA lines go too.
    """
    if gpu_expected is None:
        gpu_expected = nvidia_driver_present() and os.environ.get("CUDA_VISIBLE_DEVICES") not in ("", "-1")
    return "|".join(f"(?:{p})" for p in ALWAYS + (() if gpu_expected else NO_GPU))


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or replaced stream: nothing to flush
            pass


def _start_filter(pattern: str) -> tuple[int, subprocess.Popen] | None:
    """Send file descriptor 2 through the filter; return (the real fd 2, the filter), or None
    (and change nothing) where that cannot be set up."""
    if os.name != "posix":
        return None
    try:
        _flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no standard error to filter
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:
        os.close(saved)
        return None
    try:
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER, pattern],
            stdin=read_end,
            stdout=saved,
            stderr=saved,
            start_new_session=True,
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        os.close(write_end)
        os.close(saved)
        return None
    finally:
        os.close(read_end)
    os.dup2(write_end, 2)
    os.close(write_end)
    return saved, child


@contextmanager
def filtered_stderr(pattern: str) -> Iterator[None]:
    """Within the block, lines written to file descriptor 2 that match ``pattern`` are dropped.

    Everything else goes to the real standard error, and has arrived there when the block ends.
    Where the filter cannot be set up, the block runs unfiltered.
    """
    started = _start_filter(pattern)
    try:
        yield
    finally:
        if started:
            saved, child = started
            _flush()
            os.dup2(saved, 2)  # the pipe's last writer is gone: the filter reads to the end and exits
            os.close(saved)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a process started meanwhile still holds the pipe
                pass


def import_tensorflow():
    """``import tensorflow`` without its start-up lines (see the module's docstring); returns it.

    Calling it again, or after TensorFlow was imported, only returns the module.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with filtered_stderr(startup_pattern()):
        import tensorflow as tf

        tf.config.list_physical_devices()  # the cuInit attempt, logged once per process
        _warm_up(tf)
    return tf


def _warm_up(tf) -> None:
    """Run a one-unit GRU on a masked sequence once: the first masked recurrent layer of a process
    makes oneDNN log, as an error, that it handles boolean tensors only with AVX-512 and falls back
    to its default kernels (harmless, and otherwise red text under the labs' first model cell).
    GPUs get memory growth first, as :func:`coursekit.profiles.configure_tensorflow` asks, because
    running anything initialises them."""
    try:
        allow_memory_growth(tf.config.list_physical_devices("GPU"))
        import keras

        keras.layers.GRU(1)(tf.zeros((1, 2, 1)), mask=tf.constant([[True, False]]))
    except Exception:  # noqa: BLE001 - a warm-up only; the lab's own cells will show any real problem
        pass
