"""How a column travels (API.md "Sync"): instants as integer milliseconds since the epoch (WatermelonDB's `@date`),
dates as YYYY-MM-DD, times as HH:MM:SS, ids and foreign keys as strings, JSON lists as JSON text (WatermelonDB
columns are string, number or boolean). Each codec turns a stored value into the app's and checks and parses what
the app pushes (a wrong type raises `InvalidValueError`: the whole push is refused)."""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from backend import clock
from backend.dates import date_bound_errors
from backend.parsers import loads

MAX_MS = 10**14  # year 5138: anything larger is not an instant a phone sends
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


class InvalidValueError(ValueError):
    pass


@dataclass(frozen=True)
class Codec:
    kind: str  # the WatermelonDB column type: string | number | boolean
    to_client: Callable[[Any], Any]
    parse: Callable[[Any], Any]  # a non-null client value -> Python, or InvalidValueError
    nullable: bool = False

    def from_client(self, raw: Any) -> Any:
        # An empty string stands for "none" in an optional date, time or id column (string columns of the app).
        if raw is None or (raw == "" and self.nullable and self.parse is not _text):
            if self.nullable:
                return None
            raise InvalidValueError("May not be null.")
        return self.parse(raw)

    def or_null(self) -> "Codec":
        to_client = self.to_client
        return Codec(self.kind, lambda v: None if v is None else to_client(v), self.parse, nullable=True)

    def normalise(self, raw: Any) -> Any:
        """The client value as the server would send it back (for comparing a pushed record with the stored one)."""
        value = self.from_client(raw)
        return None if value is None else self.to_client(value)


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidValueError("Must be a string.")
    if "\x00" in raw:  # PostgreSQL text cannot hold NUL (the REST serializers refuse it too)
        raise InvalidValueError("May not contain NUL characters.")
    return raw


def _integer(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or (isinstance(raw, float) and not raw.is_integer()):
        raise InvalidValueError("Must be an integer.")
    return int(raw)


def _decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidValueError("Must be a number.")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise InvalidValueError("Must be a finite number.") from exc
    if not value.is_finite():
        raise InvalidValueError("Must be a finite number.")
    return value


def _boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise InvalidValueError("Must be true or false.")
    return raw


def _instant(raw: Any) -> datetime:
    ms = _integer(raw)
    if not 0 < ms < MAX_MS:
        raise InvalidValueError("Must be milliseconds since 1970-01-01 (a positive integer).")
    return EPOCH + timedelta(milliseconds=ms)  # integer arithmetic: no float rounding


def _date(raw: Any) -> date:
    text = _text(raw)
    try:
        if len(text) != 10:
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidValueError("Must be a date, YYYY-MM-DD.") from exc
    problems = date_bound_errors(value, clock.now().date())  # the REST API's bounds (BoundedDateField)
    if problems:
        raise InvalidValueError(" ".join(problems))
    return value


def _time(raw: Any) -> time:
    text = _text(raw)
    if any(sign in text for sign in "+-Z") or len(text) not in (5, 8):
        raise InvalidValueError("Must be a local time, HH:MM or HH:MM:SS (no offset).")
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise InvalidValueError("Must be a local time, HH:MM or HH:MM:SS (no offset).") from exc


def _uuid(raw: Any) -> uuid.UUID:
    try:
        return uuid.UUID(_text(raw))
    except ValueError as exc:
        raise InvalidValueError("Must be a UUID.") from exc


def _json_list(raw: Any) -> list[Any]:
    try:
        value = loads(_text(raw))
    except ValueError as exc:
        raise InvalidValueError("Must be a JSON list, as text.") from exc
    if not isinstance(value, list):
        raise InvalidValueError("Must be a JSON list, as text.")
    return value


def _ms(value: datetime) -> int:
    # Exact (floor to the millisecond): float seconds * 1000 can land a millisecond short.
    return (value - EPOCH) // MILLISECOND


TEXT = Codec("string", lambda v: v if v is not None else "", _text)
INTEGER = Codec("number", int, _integer)
DECIMAL = Codec("number", float, _decimal)
BOOLEAN = Codec("boolean", bool, _boolean)
INSTANT = Codec("number", _ms, _instant)
DATE = Codec("string", date.isoformat, _date)
TIME = Codec("string", lambda v: v.strftime("%H:%M:%S"), _time)
UUID = Codec("string", str, _uuid)
JSON_LIST = Codec("string", lambda v: json.dumps(v, separators=(",", ":")), _json_list)
