"""The autograder: everything that decides a grade, outside the student's kernel.

The sandbox never mounts this package (it lives under ``autograder/``), so code
in a student's kernel can neither read nor change it. One verb per module:

* :mod:`.release` (`make release`) and :mod:`.demo` (the demo classes);
* :mod:`.discover`: what was handed in;
* :mod:`.rebuild`, :mod:`.execute`, :mod:`.verdicts`: the nbgrader autograde
  pipeline (answer-only rebuild; sandboxed execution, :mod:`.sandbox`, within the
  kernel's limits, :mod:`.limits`; verdicts on the evidence the kernel hands out);
* :mod:`.unit`, :mod:`.gradebook`, :mod:`.feedback`: one submission graded and
  recorded; :mod:`.workers`: many at once; :mod:`.grade` and :mod:`.table`: a class;
* :mod:`.tether` and :mod:`.folderlock`: nothing outlives the grader, one grader per folder;
* :mod:`.cli`: ``python -m coursegrader``.
"""
