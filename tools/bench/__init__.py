"""Speed measurements: the NMT training step against the classic code (:mod:`.step`), time to
quality before and after (:mod:`.quality`), and grading throughput (:mod:`.grading`)."""
