"""Time helpers: instants are UTC; "today" belongs to the patient's zone."""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # The tz database also ships host-specific pseudo zones that are not IANA names a phone would send.
    return frozenset(available_timezones()) - {"localtime", "Factory", "posixrules"}


def is_valid_timezone(name: str) -> bool:
    return name in _known_zones()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def local_today(tz_name: str, at: datetime | None = None) -> date:
    """The calendar date in `tz_name` at instant `at` (now by default)."""
    return (at or now()).astimezone(zone(tz_name)).date()
