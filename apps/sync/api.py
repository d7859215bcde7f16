"""`GET|POST /api/v1/sync/`: WatermelonDB's pull and push for the patient's own app (API.md "Sync")."""

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import request_user
from apps.accounts.models import Patient, User
from apps.sync.pull import Migration, pull_changes
from apps.sync.push import OPERATIONS, PushConflictError, parse_changes, push_changes
from apps.sync.registry import BY_NAME
from backend.audit import audit_record
from backend.errors import ErrorSerializer, error_body
from backend.models import SyncPull
from backend.parsers import loads
from backend.roles import Role
from backend.sync_versions import confirm_pull, pull_was_pruned
from backend.throttles import ResilientScopedRateThrottle

TIMESTAMP = re.compile(r"^[0-9]{1,18}$")
TABLE_NAMES = ", ".join(BY_NAME)


def _patient(user: User) -> Patient:
    if user.role != Role.PATIENT:
        raise exceptions.PermissionDenied("Sync is for the patients' app; staff use the REST API.")
    try:
        return user.patient
    except Patient.DoesNotExist as exc:
        raise exceptions.PermissionDenied("This account has no patient record to sync.") from exc


def _since(user: User, raw: str | None, *, required: bool) -> tuple[SyncPull | None, bool]:
    """The pull the app last applied, and whether it must be answered with a replacement sync instead (its
    timestamp was pruned: everything is sent again and the app drops what it holds beyond that)."""
    if raw in (None, "", "null") and not required:
        return None, False
    if raw is None or not TIMESTAMP.fullmatch(raw) or int(raw) < 1:
        raise serializers.ValidationError(
            {"last_pulled_at": ["Must be a timestamp this server returned (a positive integer)."]}
        )
    pull = SyncPull.objects.filter(pk=int(raw), user=user).first()
    if pull is not None:
        return pull, False
    if not required and pull_was_pruned(int(raw)):
        return None, True
    raise serializers.ValidationError(
        {"last_pulled_at": ["Not a timestamp this server gave this account (it is unknown, or in the future)."]}
    )


class PushTooLargeError(exceptions.APIException):
    status_code = 413
    default_code = "too_large"


def _push_size(body: Any) -> int:
    """How many records a push carries (created, updated and deleted, over every table), counted from the parsed body
    before any record is read; malformed parts count nothing here (parse_changes names them)."""
    if isinstance(body, Mapping) and "changes" in body:
        body = body["changes"]
    if not isinstance(body, Mapping):
        return 0
    return sum(
        len(items)
        for table_changes in body.values()
        if isinstance(table_changes, Mapping)
        for operation, items in table_changes.items()
        if operation in OPERATIONS and isinstance(items, list)
    )


def _check_push_size(body: Any) -> None:
    limit: int = settings.SYNC_MAX_PUSH_RECORDS
    size = _push_size(body)
    if size > limit:
        raise PushTooLargeError(
            f"This push carries {size:,} records; at most {limit:,} are accepted in one push: "
            "push them in several parts."
        )


def _schema_version(raw: str | None) -> None:
    if raw is None or raw in ("", "null"):
        return
    if not re.fullmatch(r"[1-9][0-9]{0,8}", raw):
        raise serializers.ValidationError({"schema_version": ["Must be a positive integer."]})


def _migration(raw: str | None) -> Migration | None:
    if raw is None or raw in ("", "null"):
        return None
    problem = "Must be WatermelonDB's migration object: {from, tables, columns: [{table, columns}]}."
    try:
        data = loads(raw)
    except ValueError as exc:
        raise serializers.ValidationError({"migration": [problem]}) from exc
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"from", "tables", "columns"}:
        raise serializers.ValidationError({"migration": [problem]})
    tables, columns = data.get("tables", []), data.get("columns", [])
    start = data.get("from")
    if not isinstance(start, int) or isinstance(start, bool) or start < 1:
        raise serializers.ValidationError({"migration.from": ["Must be a positive integer."]})
    if not isinstance(tables, list) or not isinstance(columns, list):
        raise serializers.ValidationError({"migration": [problem]})
    errors: dict[str, list[str]] = {}
    known: dict[str, frozenset[str]] = {}
    for index, name in enumerate(tables):
        if not isinstance(name, str) or name not in BY_NAME:
            errors[f"migration.tables.{index}"] = [f"Unknown table; the synced tables are {TABLE_NAMES}."]
    for index, entry in enumerate(columns):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("columns"), list)
            or set(entry) - {"table", "columns"}
        ):
            errors[f"migration.columns.{index}"] = [problem]
            continue
        name = entry.get("table")
        table = BY_NAME.get(name) if isinstance(name, str) else None
        if table is None:
            errors[f"migration.columns.{index}.table"] = [f"Unknown table; the synced tables are {TABLE_NAMES}."]
            continue
        unknown = [c for c in entry["columns"] if not isinstance(c, str) or c not in table.by_name]
        if unknown:
            errors[f"migration.columns.{index}.columns"] = [f"Unknown column(s): {', '.join(map(str, unknown))}."]
            continue
        known[table.name] = known.get(table.name, frozenset()) | frozenset(entry["columns"])
    if errors:
        raise serializers.ValidationError(errors)
    return Migration(from_version=start, tables=frozenset(tables), columns=known)


TABLE_CHANGES = inline_serializer(
    "SyncTableChanges",
    {
        "created": serializers.ListField(child=serializers.DictField(), help_text="Records (each with an id)."),
        "updated": serializers.ListField(child=serializers.DictField(), help_text="Records (each with an id)."),
        "deleted": serializers.ListField(child=serializers.CharField(), help_text="Ids."),
    },
)
PULL_OUTPUT = inline_serializer(
    "SyncPullOutput",
    {
        "changes": serializers.DictField(child=TABLE_CHANGES, help_text=f"One entry per table: {TABLE_NAMES}."),
        "timestamp": serializers.IntegerField(min_value=1, help_text="Send it back as last_pulled_at."),
        "experimentalStrategy": serializers.ChoiceField(
            choices=["replacement"],
            required=False,
            help_text="Present when last_pulled_at was pruned: everything is sent; the app drops the rest.",
        ),
    },
)
PUSH_OUTPUT = inline_serializer(
    "SyncPushOutput",
    {
        "experimentalRejectedIds": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Per table, ids of records not applied (read-only, or refused by the services).",
        ),
        "rejected": serializers.DictField(
            child=serializers.DictField(child=serializers.CharField()),
            required=False,
            help_text="Per table and id, why the record was rejected.",
        ),
    },
)
PUSH_INPUT = {
    "type": "object",
    "description": (
        "{changes: {table: {created: [record], updated: [record], deleted: [id]}}}, or the changes object itself. "
        f"Tables: {TABLE_NAMES}."
    ),
    "additionalProperties": {
        "type": "object",
        "properties": {
            "created": {"type": "array", "items": {"type": "object"}},
            "updated": {"type": "array", "items": {"type": "object"}},
            "deleted": {"type": "array", "items": {"type": "string", "format": "uuid"}},
        },
    },
}
THROTTLED = "Too many syncs from this account in a short time: retry after the Retry-After header's seconds."
LAST_PULLED_AT = OpenApiParameter(
    "last_pulled_at",
    {"type": "string", "pattern": r"^(|null|[1-9][0-9]{0,17})$"},
    description="The timestamp of the app's last pull; empty or `null` on the first sync.",
)
# WatermelonDB's client sends `null` before the app has a schema version (String(undefined ?? null)).
SCHEMA_VERSION = OpenApiParameter(
    "schema_version",
    {"type": "string", "pattern": r"^(|null|[1-9][0-9]{0,8})$"},
    description="The app's schema version (a positive integer; empty or `null` when unknown).",
)


class SyncView(APIView):
    throttle_classes = [ResilientScopedRateThrottle]

    @property
    def throttle_scope(self) -> str:
        """Per account, pulls and pushes counted apart (REST_FRAMEWORK's sync_pull and sync_push rates)."""
        return "sync_push" if self.request.method == "POST" else "sync_pull"

    @extend_schema(
        summary="Pull: changes since last_pulled_at (WatermelonDB protocol; patients only)",
        parameters=[
            LAST_PULLED_AT,
            SCHEMA_VERSION,
            OpenApiParameter(
                "migration",
                OpenApiTypes.STR,
                description="JSON {from, tables, columns: [{table, columns}]} or null: rows of these are sent in full.",
            ),
        ],
        responses={200: PULL_OUTPUT, 429: OpenApiResponse(ErrorSerializer, description=THROTTLED)},
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        patient = _patient(user)
        params = request.query_params
        since, replace = _since(user, params.get("last_pulled_at"), required=False)
        _schema_version(params.get("schema_version"))
        migration = _migration(params.get("migration")) if since is not None else None
        changes, timestamp = pull_changes(user=user, patient=patient, since=since, migration=migration)
        audit_record(actor=user, action="read", resource="sync", patient_ids=[patient.pk], request=request)
        body: dict[str, object] = {"changes": changes, "timestamp": timestamp}
        if replace:
            body["experimentalStrategy"] = "replacement"
        return Response(body)

    @extend_schema(
        summary="Push: apply the app's offline changes, all or nothing (WatermelonDB protocol; patients only)",
        parameters=[
            OpenApiParameter(
                "last_pulled_at",
                {"type": "integer", "minimum": 1, "maximum": 999999999999999999},
                required=True,
                description="The timestamp of the pull that preceded this push.",
            )
        ],
        request={"application/json": PUSH_INPUT},
        responses={
            200: PUSH_OUTPUT,
            409: OpenApiResponse(
                ErrorSerializer,
                description="A pushed record changed (or was deleted) on the server after last_pulled_at: pull first.",
            ),
            413: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "More records than SYNC_MAX_PUSH_RECORDS (2,500 by default) in one push, or a body over the size "
                    "limit: nothing is applied; push in several parts."
                ),
            ),
            429: OpenApiResponse(ErrorSerializer, description=THROTTLED),
        },
        examples=[OpenApiExample("nothing rejected", value={}, response_only=True, status_codes=["200"])],
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        patient = _patient(user)
        since, _ = _since(user, request.query_params.get("last_pulled_at"), required=True)
        assert since is not None
        _check_push_size(request.data)
        records = parse_changes(request.data)
        # WatermelonDB pushes right after applying the pull it names: her device holds what that pull saw.
        confirm_pull(patient_id=patient.pk, pull=since)
        try:
            result = push_changes(actor=user, patient=patient, since=since, records=records)
        except PushConflictError as conflict:
            fields = {table: ids for table, ids in conflict.conflicts.items()}
            return Response(
                error_body(
                    "conflict",
                    "Some records changed on the server after your last pull: pull, then push again.",
                    fields,
                ),
                status=409,
            )
        audit_record(actor=user, action="update", resource="sync", patient_ids=[patient.pk], request=request)
        return Response(result.body())
