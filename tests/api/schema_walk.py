"""Walk the fields the OpenAPI schema maps in requests (bodies and query parameters of every operation): the guards
that every date is bounded and every date-time refuses naive input use it."""

from collections.abc import Callable
from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from backend.schema import AutoSchema


def request_fields(
    monkeypatch: pytest.MonkeyPatch, keep: Callable[[serializers.Field], bool]
) -> list[tuple[str, str, serializers.Field]]:
    """(serializer, field, field object) for every request field the schema maps that `keep` accepts."""
    found: list[tuple[str, str, serializers.Field]] = []
    original = AutoSchema._map_serializer_field

    def spy(self: Any, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        if direction == "request" and keep(field):
            found.append((type(field.parent).__qualname__, str(field.field_name), field))
        return original(self, field, direction, bypass_extensions)

    with monkeypatch.context() as patch:
        patch.setattr(AutoSchema, "_map_serializer_field", spy)
        with GENERATOR_STATS.silence():
            SchemaGenerator().get_schema(request=None, public=True)
    return found
