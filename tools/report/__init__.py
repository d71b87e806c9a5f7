"""`make report`: run the course's labs and write one self-contained HTML report of their results.

The report covers five runs, each one notebook executed with nbclient in the chosen profile
(``COURSE_PROFILE``), in its own working folder ``report/runs/<run>/``:

========================  ==========================================  ===============================
run                       notebook                                    environment
========================  ==========================================  ===============================
``bahdanau``              ``solutions/nmt/nmt.ipynb``
``luong-dot``             ``solutions/nmt_luong/nmt_luong.ipynb``     ``LUONG_SCORE=dot``, ``LUONG_CELL``
``luong-general``         ``solutions/nmt_luong/nmt_luong.ipynb``     ``LUONG_SCORE=general``, ...
``luong-concat``          ``solutions/nmt_luong/nmt_luong.ipynb``     ``LUONG_SCORE=concat``, ...
``sentiment``             ``solutions/sentiment/sentiment.ipynb``
========================  ==========================================  ===============================

Every run also gets ``NMT_CHECKPOINT_DIR=<bundle>/report/checkpoints`` (a second ``make report``
restores the trained models instead of training again), ``MPLBACKEND=Agg`` and ``REPORT_RUN=<run>``.
The last cell of each notebook calls :func:`save_summary`, which writes ``run_summary.json`` into the
notebook's working folder; the report is rendered from those files only, so
``python -m coursetools.report --no-run`` re-renders it without running anything. A run that fails does
not stop the others: its section says so and shows the end of the traceback, and the command exits
with status 1.

The HTML is one file with everything inline: CSS, the figures as base64 PNG data URIs, a subset of
the shipped CJK font (``fonts/``) so that Chinese text renders on machines without a CJK font, and
the formulas as MathML (:mod:`coursekit.mathml`), which browsers typeset without a script.

One module per step, none importing a later one:

* :mod:`.runs`: the runs (notebook, environment, profile settings) and where their files go;
* :mod:`.execute`: execute the notebooks, write each run's ``run_status.json``;
* :mod:`.collect`: read the status and summary files back into :class:`RunResult`;
* :mod:`.verdict`: rank the translators, hold them to the floors;
* :mod:`.figures` and :mod:`.font`: the figures as data URIs, the CJK font subset;
* :mod:`.sections`, :mod:`.machine`: the values each section of the page shows;
* :mod:`.page`: render ``templates/`` (Jinja2) into the page; :mod:`.cli`: the command line.
"""

from coursekit.summary import SUMMARY_FILE, load_summary, save_summary

from .cli import main
from .collect import collect
from .execute import run_one
from .formatting import DASH
from .runs import RUNS, STATUS_FILE

__all__ = ["DASH", "RUNS", "STATUS_FILE", "SUMMARY_FILE", "collect", "load_summary", "main", "run_one", "save_summary"]
