"""Pure dispatch decisions: quiet hours (across midnight and DST), staleness, recorded doses, backoff."""

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.reminders import rules
from backend import reminder_sources

LONDON = ZoneInfo("Europe/London")


def decide(now: datetime, **changes):
    values: dict[str, Any] = dict(
        now=now,
        due_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(hours=3),
        zone=LONDON,
        quiet_start=None,
        quiet_end=None,
        reminders_enabled=True,
        already_recorded=False,
    )
    values.update(changes)
    return rules.decide(**values)


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        (time(23, 0), time(22, 0), time(7, 0), True),
        (time(6, 59), time(22, 0), time(7, 0), True),
        (time(7, 0), time(22, 0), time(7, 0), False),
        (time(21, 59), time(22, 0), time(7, 0), False),
        (time(13, 0), time(12, 0), time(14, 0), True),
        (time(14, 0), time(12, 0), time(14, 0), False),
        (time(3, 0), time(5, 0), time(5, 0), False),  # equal start and end: no quiet hours
        (time(3, 0), None, None, False),
    ],
)
def test_quiet_hours_span_midnight(local, start, end, quiet) -> None:
    assert rules.in_quiet_hours(local, start, end) is quiet


def test_quiet_hours_defer_to_their_end_across_the_spring_change() -> None:
    # 2026-03-29 00:30 GMT: quiet until 07:00 local, which is 06:00 UTC (BST began at 01:00).
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    decision = decide(now, quiet_start=time(22), quiet_end=time(7), expires_at=now + timedelta(hours=8))
    assert decision == rules.Defer(datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "quiet hours")


def test_a_reminder_whose_use_ends_inside_quiet_hours_expires() -> None:
    now = datetime(2026, 1, 10, 23, 0, tzinfo=UTC)
    assert isinstance(decide(now, quiet_start=time(22), quiet_end=time(7)), rules.Expire)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, rules.Send()),
        ({"already_recorded": True}, rules.Skip("dose already recorded")),
        ({"reminders_enabled": False}, rules.Skip("reminders switched off by the patient")),
        ({"expires_at": datetime(2026, 1, 10, 12, tzinfo=UTC)}, rules.Expire("too late to help")),
    ],
)
def test_decisions(changes, expected) -> None:
    assert decide(datetime(2026, 1, 10, 12, tzinfo=UTC), **changes) == expected


def test_stale_after_uses_the_source_value_first() -> None:
    assert reminder_sources.stale_after("medication", 180) == timedelta(hours=3)
    assert reminder_sources.stale_after("medication", None) == timedelta(hours=6)
    assert reminder_sources.stale_after("unknown", None) == timedelta(hours=6)


def test_backoff_doubles_then_gives_up() -> None:
    delays = [rules.retry_delay(n) for n in range(1, 7)]
    assert delays[:4] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert delays[4:] == [None, None]


def test_quiet_hours_ending_in_the_repeated_autumn_hour_end_the_second_time_round() -> None:
    # Europe/London, 2026-10-25: 01:00-02:00 happens twice (BST, then GMT). Quiet hours 22:00-01:30.
    london = ZoneInfo("Europe/London")
    second_pass = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)  # 01:10 GMT, the clock's second 01:10
    assert rules.quiet_hours_end(second_pass, time(1, 30), london) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    first_pass = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)  # 01:10 BST, the first time round
    assert rules.quiet_hours_end(first_pass, time(1, 30), london) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_quiet_hours_ending_in_the_spring_gap_end_when_the_clock_jumps_past() -> None:
    # Europe/London, 2026-03-29: 01:00 GMT jumps to 02:00 BST; 01:30 never shows, quiet hours end at 02:30 BST.
    london = ZoneInfo("Europe/London")
    before = datetime(2026, 3, 29, 0, 10, tzinfo=UTC)
    assert rules.quiet_hours_end(before, time(1, 30), london) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
