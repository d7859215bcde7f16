"""OpenAPI post-processing: every operation documents the one error shape for its 4xx answers."""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from backend.errors import ErrorSerializer
from backend.serializers import LOCAL_TIME_SCHEMA, StrictInputMixin, decimal_pattern

# The 409 of a create whose id the client generates (backend/client_ids.py).
CLIENT_ID_REUSED = OpenApiResponse(
    ErrorSerializer,
    description="This id is already recorded with other values (`code` = conflict; `fields` names each field that "
    "differs). The same body again is a 200; a new record needs a new id.",
)


class AutoSchema(openapi.AutoSchema):
    """Names components after their view for nested `Input`/`Output` serializers, so that `MeView.Output` and
    `HealthView.Output` become `MeOutput` and `HealthOutput` instead of colliding as `Output`."""

    def get_serializer_name(self, serializer: Any, direction: Literal["request", "response"]) -> str:
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer:
            return outer.removesuffix("View") + inner
        return str(super().get_serializer_name(serializer, direction))

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: Any = False) -> Any:
        # Every time of day here is a wall-clock time without an offset (e.g. a reminder's local_time, "07:00:00"),
        # not an RFC 3339 `time`, which requires one: a model TimeField in an output is documented as such too.
        if isinstance(field, serializers.TimeField) and not hasattr(type(field), "_spectacular_annotation"):
            return dict(LOCAL_TIME_SCHEMA)
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and "pattern" in result:
            result["pattern"] = decimal_pattern(field)
        return result

    def _get_request_body(self, direction: str = "request") -> Any:
        # drf-spectacular documents bodies only for POST/PUT/PATCH; a DELETE that reads one (removing a device by
        # platform and registration id) must say so, or clients and contract tests send it empty.
        # A DELETE states its body with extend_schema(request=...), or request=None for none (not guessed).
        if self.method != "DELETE" or self.get_request_serializer() is None:
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _map_basic_serializer(self, serializer: Any, direction: Literal["request", "response"]) -> dict[str, Any]:
        result: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictInputMixin):
            result["additionalProperties"] = False  # the server refuses unknown fields; say so
        return result


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error shape of every 4xx answer.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable code: invalid, not_found, throttled, ..."},
                "message": {"type": "string", "description": "Human-readable summary."},
                "fields": {
                    "type": "object",
                    "description": "Field path (dots for nesting) to its messages; empty when not about fields.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (`code` = invalid or parse_error); `fields` names the offending fields.",
    "401": "Missing, expired or revoked credentials.",
    "403": "Signed in, but this role may not do this.",
    "404": "No such object, or not in your scope (ids of other patients do not leak).",
    "405": "Method not allowed.",
    "413": "Request body too large (`code` = too_large).",
    "415": "Request body is not JSON.",
    "429": "Too many requests; retry after the Retry-After header.",
}
PUBLIC_CODES = ("400", "404", "405", "429")
WITH_BODY_CODES = ("413", "415")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            codes = list(PUBLIC_CODES)
            if operation.get("security") != [{}] and {} not in operation.get("security", []):
                codes += ["401", "403"]
            if "requestBody" in operation:
                codes += list(WITH_BODY_CODES)
            responses = operation.setdefault("responses", {})
            for code in sorted(codes):
                responses.setdefault(code, {"description": ERROR_DESCRIPTIONS[code], "content": ref})
    return result
