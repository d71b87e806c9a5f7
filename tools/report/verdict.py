"""Judge the runs: rank the translators, hold them to the profile's floors, list what failed.

The facts only; the templates (``_header.html.j2``, ``_results.html.j2``) say them in sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from coursekit.checks.sentiment import THRESHOLD as SENTIMENT_THRESHOLD

from .collect import RunResult, metric, nmt, number, ranked
from .runs import bleu_floor


@dataclass(frozen=True)
class Scored:
    """A finished translation run with its BLEU scores."""

    name: str
    attention: str | None  # as the summary names it, "Luong dot"
    greedy: float
    beam: float | None


@dataclass(frozen=True)
class Accuracy:
    """A sentiment run's test accuracy (None if it recorded none) and the threshold it must reach."""

    name: str
    accuracy: float | None
    threshold: float

    @property
    def meets(self) -> bool:
        return self.accuracy is not None and self.accuracy >= self.threshold


@dataclass
class Verdict:
    profile: str
    floor: float | None  # the profile's greedy BLEU floor
    translators: int  # translation runs, finished or not
    ranked: list[Scored]  # best first
    under: list[Scored]  # below the floor
    beam_worse: list[Scored]  # beam search scored below greedy decoding
    broken: list[RunResult]  # translation runs that failed or did not run
    sentiment: list[Accuracy] = field(default_factory=list)  # finished sentiment runs
    has_sentiment: bool = False  # a sentiment run is part of the report, finished or not
    raised: list[str] = field(default_factory=list)  # finished runs whose cells raised
    failed: list[str] = field(default_factory=list)  # runs that failed or did not run

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None

    @property
    def worst(self) -> Scored | None:
        return self.ranked[-1] if self.ranked else None

    @property
    def gap(self) -> float | None:
        """How many greedy BLEU points the weakest translator is behind the best."""
        return self.best.greedy - self.worst.greedy if self.ranked else None


def sentiment_accuracy(result: RunResult) -> Accuracy:
    threshold = number(metric(result.summary, "threshold")) or SENTIMENT_THRESHOLD
    return Accuracy(result.name, number(metric(result.summary, "test_accuracy")), threshold)


def judge(results: Sequence[RunResult], profile: str) -> Verdict:
    floor = bleu_floor(profile)
    scored = [
        Scored(
            r.name,
            (r.summary or {}).get("attention") or None,
            number(metric(r.summary, "bleu_greedy")),
            number(metric(r.summary, "bleu_beam")),
        )
        for r in ranked(results)
    ]
    return Verdict(
        profile=profile,
        floor=floor,
        translators=len(nmt(results)),
        ranked=scored,
        under=[s for s in scored if floor is not None and s.greedy < floor],
        beam_worse=[s for s in scored if s.beam is not None and s.beam < s.greedy],
        broken=[r for r in nmt(results) if not r.ok],
        sentiment=[sentiment_accuracy(r) for r in results if r.spec.kind == "sentiment" and r.ok],
        has_sentiment=any(r.spec.kind == "sentiment" for r in results),
        raised=[r.name for r in results if r.ok and r.cell_errors],
        failed=[r.name for r in results if not r.ok],
    )
