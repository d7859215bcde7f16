"""Serializer helpers shared by every app."""

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictInputMixin:
    """Rejects fields the endpoint does not know or does not let you write, instead of silently ignoring them."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {}
            for key in data:
                if key in writable:
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


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer[Any]):
    pass


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
        "description": "Local wall-clock time, HH:MM or HH:MM:SS (no offset).",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the patient's zone, e.g. "07:00": no offset, so not an RFC 3339 `time`."""

    def to_internal_value(self, value: Any) -> Any:
        # Django's parser would silently drop "+02:00"; a local time with an offset is a client mistake.
        if isinstance(value, str) and any(sign in value for sign in "+-Z"):
            self.fail("invalid", format="HH:MM[:SS] (local time, no offset)")
        return super().to_internal_value(value)
