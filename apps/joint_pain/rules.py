"""Judging her weekly joint-pain check-ins (DOMAIN J2/J3): the baseline, which check-ins are above threshold, and
the episodes they make. Pure: facts in, judgement out (no ORM, no clock).

A check-in synced late is placed in its week and the whole history is judged again, so the answer never depends on
the order in which the check-ins arrived.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

WORST_PAIN_THRESHOLD = 4  # DOMAIN J2/J3: a BPI worst-pain score of 4 or more predicted stopping the AI
RISE_FROM_BASELINE = 2  # DOMAIN J3: a rise of 2 or more points from her own baseline
BASELINE_CHECK_INS = 2  # DOMAIN J3: the baseline is the mean worst pain of her first two check-ins
BELOW_TO_END = 2  # DOMAIN J3: an episode ends after two consecutive check-ins below threshold
AI_IMPACT_HIGH = frozenset({"missed", "stopped"})  # DOMAIN J3: pain made her miss or stop the AI -> high
RULE = "J3"


class Reason(StrEnum):
    """Why a check-in is above threshold (the first that applies, in this order)."""

    AI_IMPACT = "ai_impact"  # she missed or stopped the AI because of pain
    WORST_PAIN = "worst_pain"  # worst pain >= 4
    RISE = "rise"  # worst pain >= baseline + 2


@dataclass(frozen=True)
class CheckInFact:
    week_of: date
    worst_pain: int
    ai_impact: str = "none"
    stiffness: int = 0


@dataclass(frozen=True)
class Point:
    """One check-in as judged: above threshold or not, and why."""

    fact: CheckInFact
    reason: Reason | None

    @property
    def above(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True)
class Episode:
    """A run of her check-ins from the first above threshold to the second of two consecutive ones below it
    (`ended_on`, None while open)."""

    points: tuple[Point, ...]
    ended_on: date | None

    @property
    def since(self) -> date:
        return self.points[0].fact.week_of

    @property
    def is_open(self) -> bool:
        return self.ended_on is None

    @property
    def high(self) -> bool:
        """DOMAIN J3: high when any check-in in it reported missing or stopping the AI because of pain."""
        return any(p.fact.ai_impact in AI_IMPACT_HIGH for p in self.points)

    @property
    def severity(self) -> str:
        return "high" if self.high else "normal"

    @property
    def worst(self) -> int:
        return max(p.fact.worst_pain for p in self.points)

    @property
    def high_score(self) -> bool:
        """A check-in in it scored worst pain 4 or more (the patient's self-help notice follows, DOMAIN J4)."""
        return any(p.fact.worst_pain >= WORST_PAIN_THRESHOLD for p in self.points)

    @property
    def opening(self) -> Point:
        return self.points[0]


@dataclass(frozen=True)
class Judgement:
    points: tuple[Point, ...]  # oldest week first
    baseline: float | None
    episodes: tuple[Episode, ...]  # oldest first; only the last can be open

    @property
    def current(self) -> Episode | None:
        """The open episode, if any."""
        if self.episodes and self.episodes[-1].is_open:
            return self.episodes[-1]
        return None


def baseline(facts: list[CheckInFact]) -> float | None:
    """Mean worst pain of her first two check-ins (in week order); None before she has two."""
    if len(facts) < BASELINE_CHECK_INS:
        return None
    first = facts[:BASELINE_CHECK_INS]
    return sum(f.worst_pain for f in first) / BASELINE_CHECK_INS


def reason_above(fact: CheckInFact, *, index: int, base: float | None) -> Reason | None:
    """Why this check-in (the `index`-th of hers in week order, from 0) is above threshold; None when it is not.
    The rise from baseline counts only for check-ins after the two that make the baseline."""
    if fact.ai_impact in AI_IMPACT_HIGH:
        return Reason.AI_IMPACT
    if fact.worst_pain >= WORST_PAIN_THRESHOLD:
        return Reason.WORST_PAIN
    if base is not None and index >= BASELINE_CHECK_INS and fact.worst_pain - base >= RISE_FROM_BASELINE:
        return Reason.RISE
    return None


def judge(facts: Iterable[CheckInFact]) -> Judgement:
    """Her whole history judged in week order (one check-in per week; the order they arrived in does not matter)."""
    ordered = sorted(facts, key=lambda f: f.week_of)
    base = baseline(ordered)
    points = tuple(Point(f, reason_above(f, index=i, base=base)) for i, f in enumerate(ordered))
    episodes: list[Episode] = []
    current: list[Point] = []
    below = 0
    for point in points:
        if not current:
            if point.above:
                current, below = [point], 0
            continue
        current.append(point)
        below = 0 if point.above else below + 1
        if below >= BELOW_TO_END:
            episodes.append(Episode(tuple(current), ended_on=point.fact.week_of))
            current, below = [], 0
    if current:
        episodes.append(Episode(tuple(current), ended_on=None))
    return Judgement(points=points, baseline=base, episodes=tuple(episodes))


def episode_key(episode: Episode) -> str:
    """What makes an alert or notice "this episode's": the ISO date of the week it opened in."""
    return episode.since.isoformat()
