"""`make bench-grade`: how many submissions an hour, with one worker and with several.

Grades the same submissions with JOBS=1 and with JOBS=2 (and, on a CPU, with two
workers that each keep all the cores' threads, to see whether splitting the
threads helps), side by side in one run, and prints submissions per hour and
the ratios. Two classes are measured:

* ``smoke``: the honest sentiment demo class in the smoke profile, where kernel and
  TensorFlow start-up dominate;
* ``cpu``: the honest sentiment demo class in the cpu profile, where training dominates.

Every run grades into a fresh folder with FORCE, so nothing is reused.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from grader.grade import grade


def measure(profile: str, jobs: int, split_threads: bool = True) -> dict:
    saved = os.environ.get("COURSEKIT_NO_THREAD_SPLIT")
    if not split_threads:
        os.environ["COURSEKIT_NO_THREAD_SPLIT"] = "1"
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-grade-{profile}-{jobs}-") as tmp:
            start = time.monotonic()
            results = grade(Path(tmp), profile=profile, use_demo=True, only=["sentiment"],
                                    jobs=jobs, force=True)
            seconds = time.monotonic() - start
    finally:
        if saved is None:
            os.environ.pop("COURSEKIT_NO_THREAD_SPLIT", None)
    return {"profile": profile, "jobs": jobs, "split": split_threads, "n": len(results),
            "seconds": seconds, "per_hour": 3600 * len(results) / seconds,
            "scores": sorted((r.student, r.score) for r in results)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", nargs="+", default=["smoke", "cpu"])
    args = parser.parse_args(argv)
    rows = []
    for profile in args.profiles:
        one = measure(profile, 1)
        two = measure(profile, 2)
        rows += [one, two]
        if profile == "cpu":
            rows.append(measure(profile, 2, split_threads=False))
    print(f"\n{'profile':8s} {'workers':>8s} {'threads':>12s} {'submissions':>12s} {'seconds':>8s} "
          f"{'per hour':>9s} {'vs 1 worker':>12s}  same scores")
    base = {}
    for r in rows:
        base.setdefault(r["profile"], r)
        b = base[r["profile"]]
        threads = "all" if r["jobs"] == 1 or not r["split"] else "split"
        print(f"{r['profile']:8s} {r['jobs']:8d} {threads:>12s} {r['n']:12d} {r['seconds']:8.0f} "
              f"{r['per_hour']:9.0f} {r['per_hour'] / b['per_hour']:11.2f}x  {r['scores'] == b['scores']}")


if __name__ == "__main__":
    main()
