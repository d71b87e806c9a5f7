"""Tools for the course staff, apart from the lab library and the grader: ``make report``
(:mod:`coursetools.report`) and ``make bench`` / ``make bench-grade`` (:mod:`coursetools.bench`)."""
