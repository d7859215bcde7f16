"""What the dispatcher does with one due occurrence: pure decisions, no ORM, no I/O."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.recurrence import to_instant

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 60  # 1, 2, 4, 8 minutes between transient failures


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Expire:
    reason: str


@dataclass(frozen=True)
class GiveUp:
    """Taken again and again by workers that never finished it (each retake counts as an attempt)."""

    reason: str


Decision = Send | Defer | Skip | Expire | GiveUp


def in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    """Quiet hours may span midnight (22:00-07:00). Equal start and end means none."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(now: datetime, end: time, zone: ZoneInfo) -> datetime:
    """The next instant at which the local clock reads `end` (DST-correct: in a spring-forward gap the end moves
    forward with the clock; on the autumn night the clock reads it twice, and the second time counts when the
    first has passed, so quiet hours ending at 01:30 do not run on to the next night)."""
    local_now = now.astimezone(zone)
    for day in (local_now.date(), local_now.date() + timedelta(days=1)):
        first = to_instant(day, end, zone)
        candidates = [first]
        second = datetime.combine(day, end.replace(fold=1), tzinfo=zone).astimezone(UTC)
        if second != first and second.astimezone(zone).time() == end:  # only a repeated wall time has a second
            candidates.append(second)
        for candidate in sorted(candidates):
            if candidate > now:
                return candidate
    raise AssertionError("unreachable: the wall time recurs within two days")


def decide(
    *,
    now: datetime,
    due_at: datetime,
    expires_at: datetime,
    zone: ZoneInfo,
    quiet_start: time | None,
    quiet_end: time | None,
    reminders_enabled: bool,
    already_recorded: bool,
) -> Decision:
    if not reminders_enabled:
        return Skip("reminders switched off by the patient")
    if already_recorded:
        return Skip("dose already recorded")
    if now >= expires_at:
        return Expire("too late to help")
    if quiet_end is not None and in_quiet_hours(now.astimezone(zone).time(), quiet_start, quiet_end):
        until = quiet_hours_end(now, quiet_end, zone)
        if until >= expires_at:
            return Expire("quiet hours last past the time it would help")
        return Defer(until, "quiet hours")
    return Send()


# Issue 6: kinds the patient's app fires itself (a local notification) once it holds them; a follow-up nudge is
# always pushed (it exists because the dose is still unrecorded, which the app may not know yet).
FIRED_ON_DEVICE = frozenset({"reminder", "next_morning"})


def left_to_device(*, kind: str, held_by_device: bool) -> bool:
    """Whether the dispatcher leaves this occurrence to the patient's app instead of pushing it."""
    return held_by_device and kind in FIRED_ON_DEVICE


def retry_delay(attempts: int) -> timedelta | None:
    """Backoff after a transient failure; None when the attempts are used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return timedelta(seconds=RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Retry:
    delay: timedelta


@dataclass(frozen=True)
class Failed:
    reason: str


Settlement = Sent | Retry | Failed


def settle(*, outcomes: list[tuple[str, bool, str]], attempts: int) -> Settlement:
    """What a push attempt means for its occurrence, from each device's (outcome, transient, error): sent when any
    device took it; else retried with backoff when any failure may pass; else failed with the reasons."""
    if any(outcome == "sent" for outcome, _, _ in outcomes):
        return Sent()
    delay = retry_delay(attempts) if any(transient for _, transient, _ in outcomes) else None
    if delay is not None:
        return Retry(delay)
    return Failed("; ".join(sorted({error or outcome for outcome, _, error in outcomes}))[:200])
