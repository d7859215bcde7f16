"""Serializer helpers shared by every app."""

import contextlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast

from django.db import models
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend import clock
from backend.dates import date_bound_errors

NAIVE_DATETIME = "No time zone: include a UTC offset, e.g. 2026-11-30T08:05:00-08:00 (or Z for UTC)."


class AwareDateTimeField(serializers.DateTimeField):
    """An instant: refuses a date-time without a UTC offset ("2026-11-30 08:05") instead of guessing its zone.

    DRF would read it in the server's zone (UTC): a dose taken at 08:05 in Los Angeles would be stored 8 hours off.
    Every serializer field that accepts a date-time is one of these (StrictModelSerializer maps model date-times
    to it; tests/api/test_datetime_inputs.py walks the schema for any other)."""

    default_error_messages = {"naive": NAIVE_DATETIME}

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            parsed: datetime | None = value
        elif isinstance(value, str):
            parsed = None
            with contextlib.suppress(ValueError):
                parsed = parse_datetime(value)
        else:
            parsed = None
        if parsed is not None and parsed.utcoffset() is None:
            self.fail("naive")
        result: datetime = super().to_internal_value(value)
        return result


class BoundedDateField(serializers.DateField):
    """A date a client sends: from 1900-01-01 to ten years after today (backend.dates), refused with a 400 naming the
    field otherwise. Every serializer field that accepts a date is one of these (StrictModelSerializer maps model
    dates to it; tests/api/test_date_bounds.py walks the schema for any other)."""

    def to_internal_value(self, value: Any) -> date:
        result: date = super().to_internal_value(value)
        problems = date_bound_errors(result, clock.now().date())
        if problems:
            raise serializers.ValidationError(problems, code="out_of_range")
        return result


def decimal_pattern(field: serializers.DecimalField) -> str:
    """What the field accepts as a string: at least one digit (drf-spectacular's own pattern, `^-?\\d{0,5}...`,
    also matched "", "." and "-", which the server refuses), its digit limits, and a sign only if it may be negative."""
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    whole_digits, places_digits = field.max_whole_digits, field.decimal_places
    whole = "0" if whole_digits == 0 else (r"\d+" if whole_digits is None else rf"\d{{1,{whole_digits}}}")
    places = "" if places_digits == 0 else (r"(\.\d+)?" if places_digits is None else rf"(\.\d{{1,{places_digits}}})?")
    return f"^{sign}{whole}{places}$"


class DecimalField(serializers.DecimalField):
    """A decimal sent as a string takes exactly the form the schema declares (`decimal_pattern`): DRF's Decimal()
    also took ".5", "1.", "+1", "1e0" and "-0", which the schema forbids. Every serializer decimal is one of these."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and not re.fullmatch(decimal_pattern(self), data):
            self.fail("invalid")
        return super().to_internal_value(data)


# The JSON type each field kind is declared as in the schema. DRF reads more than that (`0` and `"yes"` as booleans,
# `5` as the string "5", `0.8` as a decimal declared a string): the server takes exactly the declared type, so a
# client bug surfaces as a 400 naming the field instead of a guess stored. Most specific kinds first.
JSON_TYPES: tuple[tuple[type[serializers.Field[Any, Any, Any, Any]], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.IntegerField, (int,), "a whole number"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.DecimalField, (str,), 'a string, e.g. "0.8"'),
    (serializers.MultipleChoiceField, (list,), "a list"),
    (serializers.ListField, (list,), "a list"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.CharField, (str,), "a string"),
    (serializers.DateField, (str,), "a string"),
    (serializers.DateTimeField, (str,), "a string"),
    (serializers.TimeField, (str,), "a string"),
    (serializers.UUIDField, (str,), "a string"),
    (serializers.DurationField, (str,), "a string"),
)


def json_type_error(field: Any, value: Any) -> str | None:
    """Why `value` (parsed JSON) is not the JSON type `field` is declared as, or None. Nulls are the field's call."""
    if value is None:
        return None
    single_choice = isinstance(field, serializers.ChoiceField) and not isinstance(
        field, serializers.MultipleChoiceField
    )
    if single_choice and not all(isinstance(choice, str) for choice in field.choices):
        return None  # choices of numbers: the field's own lookup decides
    for kind, types, name in JSON_TYPES:
        if isinstance(field, kind):
            if isinstance(value, bool) and bool not in types:  # True is an int to Python, not to JSON
                return f"Must be {name}."
            if not isinstance(value, types):
                return f"Must be {name}."
            if isinstance(field, serializers.ListField) and field.child is not None:
                items = cast(list[Any], value)
                return next((error for item in items if (error := json_type_error(field.child, item))), None)
            return None
    return None


class StrictInputMixin:
    """Rejects fields the endpoint does not know or does not let you write, instead of silently ignoring them, and
    values of another JSON type than the field's."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {}
            for key, value in data.items():
                if key in writable:
                    if error := json_type_error(self.fields[key], value):
                        errors[key] = [error]
                    continue
                if key in self.fields:
                    errors[key] = ["This field is read-only."]
                else:
                    errors[key] = ["Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictInputMixin, serializers.Serializer[Any]):
    pass


class QuerySerializer(serializers.Serializer[Any]):
    """Query parameters. DRF reads `?to=` (an empty value) as if the parameter were absent, so the server answered
    for a default window where the schema forbids an empty date: here an empty value is refused with a 400 naming
    the parameter, unless the field allows blanks (a search text)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            empty = {
                name: ["May not be empty: leave the parameter out instead."]
                for name, field in self.fields.items()
                if not field.read_only and data.get(name) == "" and not getattr(field, "allow_blank", False)
            }
            if empty:
                raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer[Any]):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: AwareDateTimeField,
        models.DateField: BoundedDateField,
        models.DecimalField: DecimalField,
    }


# A wall-clock time as the server writes and accepts it (backend.schema documents every TimeField so).
LOCAL_TIME_SCHEMA: dict[str, str] = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
    "description": "Local wall-clock time, HH:MM or HH:MM:SS (no offset).",
}


@extend_schema_field(LOCAL_TIME_SCHEMA)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the patient's zone, e.g. "07:00": no offset, so not an RFC 3339 `time`."""

    def to_internal_value(self, value: Any) -> Any:
        # Django's parser would silently drop "+02:00" (a local time with an offset is a client mistake) and take
        # "7:00": only the form the schema declares is accepted.
        if isinstance(value, str) and not re.fullmatch(LOCAL_TIME_SCHEMA["pattern"], value):
            self.fail("invalid", format="HH:MM[:SS] (local time, no offset)")
        return super().to_internal_value(value)


class DeviceIdField(serializers.RegexField):
    """The app installation's own random id (e.g. a UUID made once per installation and kept on the phone), sent
    with device registrations and sign-out: it proves a push token comes from the same installation."""

    PATTERN = r"^[A-Za-z0-9._:-]{16,128}$"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "error_messages", {"invalid": "16 to 128 letters, digits or . _ : - (e.g. a UUID made by the app)."}
        )
        super().__init__(self.PATTERN, **kwargs)


def validated(serializer: type[serializers.Serializer[Any]], data: Any, **kwargs: Any) -> dict[str, Any]:
    """The serializer's validated data (a request's body or query parameters), or the 400 naming each bad field."""
    checked = serializer(data=data, **kwargs)
    checked.is_valid(raise_exception=True)
    return dict(checked.validated_data)
