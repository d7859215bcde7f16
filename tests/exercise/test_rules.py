"""Exercise rules (DOMAIN E1-E3): ISO weeks, weekly progress, streaks. Pure: no database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.exercise.rules import (
    KINDS,
    MAX_SESSION_MINUTES,
    MAX_STREAK_WEEKS,
    TARGETS,
    IsoWeek,
    SessionFact,
    Targets,
    WeekError,
    parse_iso_week,
    streak_weeks,
    streak_window,
    target_errors,
    weekly_progress,
    weeks_in_year,
)

W13 = IsoWeek(2026, 13)  # Monday 23 March - Sunday 29 March 2026


def fact(kind: str, day: date, minutes: int = 30, sessions: int = 1) -> SessionFact:
    return SessionFact(kind, day, minutes, sessions)


def on_target_facts(week: IsoWeek) -> list[SessionFact]:
    monday = week.monday
    return [
        fact("weight_bearing", monday, 150),
        fact("resistance", monday, 20),
        fact("resistance", monday + timedelta(days=3), 20),
        fact("balance", monday + timedelta(days=6), 15, sessions=2),
    ]


# --- targets -----------------------------------------------------------------------------------------------------
def test_the_targets_are_the_domain_defaults() -> None:
    assert {name: (t.rule, t.default) for name, t in TARGETS.items()} == {
        "weight_bearing_minutes": ("E1", 150),
        "resistance_days": ("E2", 2),
        "balance_sessions": ("E3", 2),
    }
    assert Targets() == Targets(150, 2, 2)


@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ({"weight_bearing_minutes": 150, "resistance_days": 0, "balance_sessions": 14}, set()),
        ({"weight_bearing_minutes": -1}, {"weight_bearing_minutes"}),
        ({"weight_bearing_minutes": 1001}, {"weight_bearing_minutes"}),
        ({"resistance_days": 8}, {"resistance_days"}),
        ({"balance_sessions": 15, "resistance_days": True}, {"balance_sessions", "resistance_days"}),
        ({"weight_bearing_minutes": "150"}, {"weight_bearing_minutes"}),
    ],
)
def test_target_errors(values: dict[str, object], bad: set[str]) -> None:
    assert set(target_errors(values)) == bad


# --- ISO weeks ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "week", "monday", "sunday"),
    [
        ("2026-W01", IsoWeek(2026, 1), date(2025, 12, 29), date(2026, 1, 4)),
        ("2026-W13", W13, date(2026, 3, 23), date(2026, 3, 29)),
        # 2026 starts on a Thursday: it has a week 53, ending in January 2027.
        ("2026-W53", IsoWeek(2026, 53), date(2026, 12, 28), date(2027, 1, 3)),
        ("2020-W53", IsoWeek(2020, 53), date(2020, 12, 28), date(2021, 1, 3)),  # leap year starting on a Wednesday
        ("2027-W01", IsoWeek(2027, 1), date(2027, 1, 4), date(2027, 1, 10)),
        (" 2026-W05 ", IsoWeek(2026, 5), date(2026, 1, 26), date(2026, 2, 1)),
    ],
)
def test_parse_iso_week(text: str, week: IsoWeek, monday: date, sunday: date) -> None:
    parsed = parse_iso_week(text)
    assert parsed == week
    assert (parsed.monday, parsed.sunday) == (monday, sunday)
    assert str(parsed) == text.strip()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-W53", "2025 has weeks 01 to 52."),  # 2025 starts on a Wednesday and is not a leap year
        ("2027-W53", "2027 has weeks 01 to 52."),
        ("2026-W54", "2026 has weeks 01 to 53."),
        ("2026-W00", "2026 has weeks 01 to 53."),
        ("2026-W5", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("2026W05", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("2026-w05", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("2026-03-23", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        ("2026-W05-1", "Use the ISO week form YYYY-Www, e.g. 2026-W05."),
        (
            "\uff11\uff12\uff13\uff14-W05",
            "Use the ISO week form YYYY-Www, e.g. 2026-W05.",
        ),  # full-width digits are not ASCII
        ("0001-W01", "The year must be 1900 to 2999."),
        ("9999-W52", "The year must be 1900 to 2999."),
    ],
)
def test_parse_iso_week_refuses_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(WeekError) as caught:
        parse_iso_week(text)
    assert str(caught.value) == message


def test_weeks_in_year() -> None:
    assert {year: weeks_in_year(year) for year in range(2020, 2033)} == {
        2020: 53,
        2021: 52,
        2022: 52,
        2023: 52,
        2024: 52,
        2025: 52,
        2026: 53,
        2027: 52,
        2028: 52,
        2029: 52,
        2030: 52,
        2031: 52,
        2032: 53,
    }


@given(st.dates(min_value=date(1900, 1, 8), max_value=date(2999, 12, 24)))
def test_a_date_lies_in_its_week_and_the_week_round_trips(day: date) -> None:
    week = IsoWeek.of(day)
    assert week.monday <= day <= week.sunday
    assert week.monday.weekday() == 0
    assert (week.sunday - week.monday).days == 6
    assert parse_iso_week(str(week)) == week
    assert week.minus(1).sunday == week.monday - timedelta(days=1)
    assert week.minus(1) < week


# --- weekly progress ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("facts", "expected", "met"),
    [
        ([], (0, 0, 0), (False, False, False)),
        (on_target_facts(W13), (150, 2, 2), (True, True, True)),
        # E1 adds minutes: 149 is short.
        (
            [fact("weight_bearing", date(2026, 3, 23), 100), fact("weight_bearing", date(2026, 3, 29), 49)],
            (149, 0, 0),
            (False, False, False),
        ),
        # E2 counts distinct days: three resistance sessions on one Tuesday are one day.
        ([fact("resistance", date(2026, 3, 24))] * 3, (0, 1, 0), (False, False, False)),
        ([fact("resistance", date(2026, 3, 24), sessions=3)], (0, 1, 0), (False, False, False)),
        # E3 counts sessions, also two on one day.
        ([fact("balance", date(2026, 3, 25)), fact("balance", date(2026, 3, 25))], (0, 0, 2), (False, False, True)),
        # Outside the week (Sunday before, Monday after) nothing counts.
        (
            [
                fact("weight_bearing", date(2026, 3, 22), 300),
                fact("resistance", date(2026, 3, 30)),
                fact("balance", date(2026, 3, 30)),
            ],
            (0, 0, 0),
            (False, False, False),
        ),
        ([fact("yoga", date(2026, 3, 24), 60)], (0, 0, 0), (False, False, False)),
    ],
)
def test_weekly_progress(facts: list[SessionFact], expected: tuple[int, int, int], met: tuple[bool, ...]) -> None:
    progress = weekly_progress(facts, week=W13, targets=Targets())
    assert (progress.weight_bearing_minutes, progress.resistance_days, progress.balance_sessions) == expected
    assert (progress.weight_bearing_met, progress.resistance_met, progress.balance_met) == met
    assert progress.on_target == all(met)


def test_a_plan_with_other_targets() -> None:
    facts = [fact("weight_bearing", date(2026, 3, 24), 90), fact("resistance", date(2026, 3, 25))]
    gentle = Targets(weight_bearing_minutes=90, resistance_days=1, balance_sessions=0)
    assert weekly_progress(facts, week=W13, targets=gentle).on_target
    assert not weekly_progress(facts, week=W13, targets=Targets()).on_target


# --- streaks -----------------------------------------------------------------------------------------------------
def weeks(*numbers: int) -> list[SessionFact]:
    return [f for n in numbers for f in on_target_facts(IsoWeek(2026, n))]


@pytest.mark.parametrize(
    ("facts", "week", "today", "streak"),
    [
        # Weeks 10, 11 on target; 12 missed; 13, 14, 15 on target. Today: Wednesday of week 16.
        (weeks(10, 11, 13, 14, 15), 15, date(2026, 4, 15), 3),
        (weeks(10, 11, 13, 14, 15), 14, date(2026, 4, 15), 2),
        (weeks(10, 11, 13, 14, 15), 12, date(2026, 4, 15), 0),
        (weeks(10, 11, 13, 14, 15), 11, date(2026, 4, 15), 2),
        # The current week is not over: not yet on target, it does not break the streak that ended last week ...
        (weeks(10, 11, 13, 14, 15), 16, date(2026, 4, 15), 3),
        # ... and once on target, it extends it.
        (weeks(10, 11, 13, 14, 15, 16), 16, date(2026, 4, 15), 4),
        # A finished week off target is a break, even if today is early in the next week.
        (weeks(10, 11, 13, 14), 15, date(2026, 4, 13), 0),
        (weeks(10, 11, 13, 14), 16, date(2026, 4, 13), 0),
        ([], 16, date(2026, 4, 15), 0),
        # A week that has not begun has no streak.
        (weeks(13, 14, 15), 17, date(2026, 4, 15), 0),
    ],
)
def test_streak(facts: list[SessionFact], week: int, today: date, streak: int) -> None:
    assert streak_weeks(facts, week=IsoWeek(2026, week), today=today, targets=Targets()) == streak


def test_streak_across_the_new_year_and_week_53() -> None:
    facts = [f for w in (IsoWeek(2026, 52), IsoWeek(2026, 53), IsoWeek(2027, 1)) for f in on_target_facts(w)]
    assert streak_weeks(facts, week=IsoWeek(2027, 1), today=date(2027, 1, 20), targets=Targets()) == 3


def test_streak_is_capped_and_reads_only_its_window() -> None:
    last = IsoWeek(2026, 40)
    facts = [f for n in range(80) for f in on_target_facts(last.minus(n))]
    first, end = streak_window(last)
    assert (first, end) == (last.minus(MAX_STREAK_WEEKS - 1).monday, last.sunday)
    inside = [f for f in facts if first <= f.performed_on <= end]
    for today in (date(2026, 12, 1), last.monday):  # a finished week; the current week, already on target
        assert streak_weeks(facts, week=last, today=today, targets=Targets()) == MAX_STREAK_WEEKS
        assert streak_weeks(inside, week=last, today=today, targets=Targets()) == MAX_STREAK_WEEKS
    # Current week not yet on target: the streak that ended last week still fits the same window.
    without_current = [f for f in inside if not last.contains(f.performed_on)]
    assert streak_weeks(without_current, week=last, today=last.monday, targets=Targets()) == MAX_STREAK_WEEKS - 1


# --- properties --------------------------------------------------------------------------------------------------
WEEK_DAYS = st.dates(min_value=date(2026, 3, 2), max_value=date(2026, 4, 19))  # weeks 10-16 of 2026
facts_strategy = st.builds(
    SessionFact,
    kind=st.sampled_from(KINDS),
    performed_on=WEEK_DAYS,
    minutes=st.integers(1, MAX_SESSION_MINUTES),
    sessions=st.just(1),
)
targets_strategy = st.builds(Targets, st.integers(0, 400), st.integers(0, 7), st.integers(0, 6))


@given(st.lists(facts_strategy, max_size=30), facts_strategy, targets_strategy, st.integers(10, 16))
def test_adding_a_session_never_lowers_progress(
    facts: list[SessionFact], extra: SessionFact, targets: Targets, number: int
) -> None:
    week = IsoWeek(2026, number)
    before = weekly_progress(facts, week=week, targets=targets)
    after = weekly_progress([*facts, extra], week=week, targets=targets)
    assert after.weight_bearing_minutes >= before.weight_bearing_minutes
    assert after.resistance_days >= before.resistance_days
    assert after.balance_sessions >= before.balance_sessions
    for flag in ("weight_bearing_met", "resistance_met", "balance_met", "on_target"):
        assert getattr(after, flag) or not getattr(before, flag), flag
    today = date(2026, 4, 15)
    assert streak_weeks([*facts, extra], week=week, today=today, targets=targets) >= streak_weeks(
        facts, week=week, today=today, targets=targets
    )


@given(st.lists(facts_strategy, max_size=30), targets_strategy)
def test_aggregated_facts_give_the_same_progress(facts: list[SessionFact], targets: Targets) -> None:
    """The selector adds sessions up per day and kind; the rules must not care."""
    totals: dict[tuple[str, date], tuple[int, int]] = {}
    for f in facts:
        minutes, count = totals.get((f.kind, f.performed_on), (0, 0))
        totals[(f.kind, f.performed_on)] = (minutes + f.minutes, count + 1)
    aggregated = [SessionFact(kind, day, m, n) for (kind, day), (m, n) in totals.items()]
    for number in range(10, 17):
        week = IsoWeek(2026, number)
        assert weekly_progress(aggregated, week=week, targets=targets) == weekly_progress(
            facts, week=week, targets=targets
        )
