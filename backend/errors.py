"""One JSON error shape for every 4xx:

    {"error": {"code": "invalid", "message": "Human-readable summary.", "fields": {"t_score": ["..."]}}}

`code` is stable and machine-readable; `fields` maps a field path (dots for nesting) to its messages and is empty
when the error is not about particular fields.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from backend.access import NotInScope
from backend.audit import audit_denied

log = logging.getLogger(__name__)
NON_FIELD_KEYS = ("non_field_errors", "__all__")


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class ConflictError(Exception):
    """The request contradicts what is already stored (e.g. a client id reused with another body): a 409 with code
    `conflict`, `fields` naming what differs. Raised by services; nothing is written."""

    def __init__(self, message: str, fields: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into {"a.b.0.c": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, path))
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, value in enumerate(detail):
            if value:
                out.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    elif isinstance(detail, list):
        out[prefix or "non_field_errors"] = [str(item) for item in detail]
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def _validation_body(detail: Any) -> dict[str, Any]:
    fields = _flatten(detail)
    general: list[str] = []
    for key in NON_FIELD_KEYS:
        general.extend(fields.pop(key, []))
    if general:
        message = " ".join(general)
    elif fields:
        names = ", ".join(sorted(fields))
        message = f"Invalid input: {names}."
    else:
        message = "Invalid input."
    return error_body("invalid", message, fields)


# The embedded SQLite default has one writer at a time; a request that waited its whole timeout for the write lock
# (config/settings.py) is told to come back rather than shown a 500.
LOCKED_RETRY_AFTER_SECONDS = 5


def database_busy(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def busy_response(response: HttpResponse, path: str) -> HttpResponse:
    """A 503 the client is told to retry: logged as a warning (an expected wait under load), not as a server error."""
    response["Retry-After"] = str(LOCKED_RETRY_AFTER_SECONDS)
    log.warning("database busy (SQLite write lock waited out): %s answered 503", path)
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django would log every 5xx at ERROR
    return response


BUSY = error_body("busy", "The server is busy with another change; retry in a few seconds.")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if database_busy(exc):
        set_rollback()
        request = context.get("request")
        busy = Response(BUSY, status=503)
        busy_response(busy, request.path if request is not None else "")
        return busy
    if isinstance(exc, ConflictError):
        set_rollback()
        return Response(error_body("conflict", exc.message, exc.fields), status=409)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)  # a service's reason is kept (it names no data)
    elif isinstance(exc, Http404):
        if isinstance(exc, NotInScope):  # a refused lookup of patient data is logged, nothing about the target
            request = context.get("request")
            audit_denied(
                actor=getattr(request, "user", None),
                resource=exc.resource,
                requested_id=exc.requested_id,
                request=request,
            )
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
        return response
    detail = getattr(exc, "detail", None)
    code = getattr(exc, "default_code", "error")
    message = str(detail) if detail is not None else str(exc)
    if isinstance(detail, dict):  # simplejwt's InvalidToken carries {"detail", "code", "messages"}
        message = str(detail.get("detail", message))
        code = str(detail.get("code", code))
    elif isinstance(detail, exceptions.ErrorDetail) and detail.code:
        code = str(detail.code)
    response.data = error_body(code, message)
    return response


# Plain Django views (outside DRF) answer in the same shape.
def not_found_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_000_000
        return JsonResponse(
            error_body("too_large", f"The request body is larger than the {limit_mb:g} MB this API accepts."),
            status=413,
        )
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def permission_denied_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("permission_denied", "You do not have permission to do this."), status=403)


class DatabaseBusyMiddleware:
    """Outside DRF (the console, the admin, health): a request that waited its whole timeout for SQLite's write lock
    answers 503 with Retry-After in the one error shape, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_busy(exception):
            return None
        return busy_response(JsonResponse(BUSY, status=503), request.path)


def server_error_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid, not_found, throttled.")
    message = serializers.CharField(help_text="Human-readable summary.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field path (dots for nesting) to its messages; empty when not about fields.",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()
