"""DOMAIN J3 judged on plain facts: the baseline, the threshold (3 vs 4, a rise of 1 vs 2), the episode's end (two
check-ins below, one is not enough), high on missing or stopping the AI, and the week order (late check-ins)."""

import random
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from apps.joint_pain.rules import (
    BELOW_TO_END,
    RISE_FROM_BASELINE,
    WORST_PAIN_THRESHOLD,
    CheckInFact,
    Reason,
    baseline,
    episode_key,
    judge,
)

MONDAY = date(2026, 3, 2)


def weeks(*scores: int | tuple[int, str]) -> list[CheckInFact]:
    """One check-in a week from MONDAY; a score or (score, ai_impact)."""
    facts = []
    for i, score in enumerate(scores):
        worst, impact = score if isinstance(score, tuple) else (score, "none")
        facts.append(CheckInFact(week_of=MONDAY + timedelta(weeks=i), worst_pain=worst, ai_impact=impact))
    return facts


def above(*scores: int | tuple[int, str]) -> list[bool]:
    return [p.above for p in judge(weeks(*scores)).points]


def test_the_constants_are_the_domain_numbers() -> None:
    assert (WORST_PAIN_THRESHOLD, RISE_FROM_BASELINE, BELOW_TO_END) == (4, 2, 2)


def test_worst_pain_3_is_below_and_4_is_above() -> None:
    assert above(3) == [False]
    assert above(4) == [True]
    assert judge(weeks(4)).points[0].reason == Reason.WORST_PAIN


def test_no_baseline_before_two_check_ins_then_the_mean_of_the_first_two() -> None:
    assert baseline(weeks()) is None
    assert baseline(weeks(1)) is None
    assert baseline(weeks(1, 2)) == 1.5
    assert baseline(weeks(1, 2, 9)) == 1.5
    assert judge(weeks(0, 1)).baseline == 0.5


def test_a_rise_of_2_from_baseline_is_above_and_1_is_not() -> None:
    assert above(1, 1, 2) == [False, False, False]  # rise of 1
    assert above(1, 1, 3) == [False, False, True]  # rise of 2 (worst pain 3: only the rise makes it)
    assert judge(weeks(1, 1, 3)).points[2].reason == Reason.RISE
    assert above(2, 2, 3) == [False, False, False]  # rise of 1 to 3


def test_a_half_point_baseline_needs_the_full_two_points() -> None:
    # baseline 0.5: 2 is a rise of 1.5 (below), 3 is a rise of 2.5 (above)
    assert above(0, 1, 2) == [False, False, False]
    assert above(0, 1, 3) == [False, False, True]


def test_the_rise_does_not_count_for_the_two_check_ins_that_make_the_baseline() -> None:
    # The second check-in is 2 above the first but it is part of the baseline, not a rise from it.
    assert above(0, 3, 0) == [False, False, False]


def test_missing_or_stopping_the_ai_is_above_threshold_whatever_the_score() -> None:
    assert above((0, "missed")) == [True]
    assert above((1, "stopped")) == [True]
    assert judge(weeks((1, "stopped"))).points[0].reason == Reason.AI_IMPACT
    assert above((0, "none")) == [False]


def test_an_episode_ends_after_two_check_ins_below_and_one_is_not_enough() -> None:
    one_below = judge(weeks(6, 2))
    assert one_below.current is not None and one_below.current.since == MONDAY
    two_below = judge(weeks(6, 2, 2))
    assert two_below.current is None
    assert two_below.episodes[0].ended_on == MONDAY + timedelta(weeks=2)


def test_below_then_above_again_restarts_the_count_inside_one_episode() -> None:
    judgement = judge(weeks(6, 2, 5, 2, 1))
    assert len(judgement.episodes) == 1
    assert judgement.episodes[0].ended_on == MONDAY + timedelta(weeks=4)


def test_a_new_episode_after_the_end_is_a_second_episode() -> None:
    judgement = judge(weeks(6, 2, 2, 7))
    assert [e.since for e in judgement.episodes] == [MONDAY, MONDAY + timedelta(weeks=3)]
    assert judgement.current is judgement.episodes[-1]
    assert episode_key(judgement.episodes[-1]) == (MONDAY + timedelta(weeks=3)).isoformat()


def test_three_weeks_at_6_are_one_episode() -> None:
    judgement = judge(weeks(6, 6, 6))
    assert len(judgement.episodes) == 1 and judgement.current is not None
    assert judgement.current.worst == 6 and judgement.current.severity == "normal"


def test_the_episode_is_high_when_any_check_in_in_it_reports_missing_or_stopping() -> None:
    assert judge(weeks(5, (5, "missed"), 5)).current.severity == "high"  # type: ignore[union-attr]
    assert judge(weeks(5, 5)).current.severity == "normal"  # type: ignore[union-attr]
    # Reported in an earlier, ended episode: the new one is normal.
    assert judge(weeks((5, "stopped"), 1, 1, 6)).current.severity == "normal"  # type: ignore[union-attr]


def test_high_score_is_worst_pain_4_or_more_not_a_rise_alone() -> None:
    assert judge(weeks(1, 1, 3)).current.high_score is False  # type: ignore[union-attr]
    assert judge(weeks(1, 1, 4)).current.high_score is True  # type: ignore[union-attr]


def test_a_late_check_in_is_placed_in_its_week() -> None:
    facts = weeks(6, 2, 2)
    # The week-2 check-in arrives first, then the others: the same judgement.
    shuffled = [facts[2], facts[0], facts[1]]
    assert judge(shuffled) == judge(facts)


@given(st.lists(st.tuples(st.integers(0, 10), st.sampled_from(["none", "missed", "stopped"])), max_size=20))
def test_properties_of_any_history(history: list[tuple[int, str]]) -> None:
    facts = weeks(*history)
    judgement = judge(facts)
    shuffled = facts[:]
    random.Random(len(facts)).shuffle(shuffled)
    assert judge(shuffled) == judgement  # arrival order never matters
    # Episodes do not overlap, each opens above threshold, only the last may be open.
    previous_end = None
    for index, episode in enumerate(judgement.episodes):
        assert episode.opening.above
        if previous_end is not None:
            assert episode.since > previous_end
        if index < len(judgement.episodes) - 1:
            assert episode.ended_on is not None
        if episode.ended_on is not None:
            assert [p.above for p in episode.points[-BELOW_TO_END:]] == [False] * BELOW_TO_END
        previous_end = episode.ended_on
    # Every above-threshold check-in belongs to an episode.
    inside = {p.fact.week_of for e in judgement.episodes for p in e.points}
    assert all(p.fact.week_of in inside for p in judgement.points if p.above)
    # A score of 4 or more, or missing or stopping the AI, is always above.
    assert all(p.above for p in judgement.points if p.fact.worst_pain >= 4 or p.fact.ai_impact != "none")
