"""Care alerts for staff and notices for patients."""

from typing import Any
from uuid import UUID

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, request_user
from apps.alerts import selectors, services
from apps.alerts.models import Alert, AlertEvent, AlertState, ContactAttempt, ContactOutcome, Notice, Severity
from apps.profiles.models import ContactChannel
from backend import clock
from backend.audit import audit_record
from backend.errors import ErrorSerializer
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import BoundedDateField, QuerySerializer, StrictSerializer, validated

STAFF = (Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)


class AlertEventOutput(serializers.ModelSerializer[AlertEvent]):
    class Meta:
        model = AlertEvent
        fields = ["action", "actor", "note", "at"]


class LastContactOutput(serializers.Serializer[Any]):
    at = serializers.DateTimeField(source="last_contact_at")
    channel = serializers.ChoiceField(choices=ContactChannel.choices, source="last_contact_channel")
    outcome = serializers.ChoiceField(choices=ContactOutcome.choices, source="last_contact_outcome")
    note = serializers.CharField(source="last_contact_note")
    by = serializers.CharField(source="last_contact_by", allow_null=True, help_text="Who tried (full name).")


class AlertOutput(serializers.ModelSerializer[Alert]):
    patient_name = serializers.CharField(source="patient.user.full_name")
    waiting = serializers.BooleanField(
        source="is_waiting",
        help_text="True while the follow-up date of its newest contact attempt has not begun in the patient's "
        "time zone; it comes back on that date.",
    )
    last_contact = serializers.SerializerMethodField(help_text="Its newest contact attempt; null when none.")
    contact_count = serializers.SerializerMethodField(help_text="How many contact attempts it has.")

    @extend_schema_field(LastContactOutput(allow_null=True))
    def get_last_contact(self, alert: Alert) -> dict[str, Any] | None:
        if getattr(alert, "last_contact_at", None) is None:
            return None
        return LastContactOutput(alert).data

    def get_contact_count(self, alert: Alert) -> int:
        return getattr(alert, "contact_count", None) or 0

    class Meta:
        model = Alert
        fields = [
            "id",
            "patient",
            "patient_name",
            "schedule",
            "kind",
            "severity",
            "message",
            "rule",
            "state",
            "raised_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "follow_up_on",
            "waiting",
            "last_contact",
            "contact_count",
        ]


class AlertDetailOutput(AlertOutput):
    events = AlertEventOutput(many=True)

    class Meta(AlertOutput.Meta):
        fields = [*AlertOutput.Meta.fields, "events"]


class AlertQuery(QuerySerializer):
    state = serializers.MultipleChoiceField(choices=AlertState.choices, required=False)
    level = serializers.ChoiceField(choices=Severity.choices, required=False)
    kind = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    waiting = serializers.BooleanField(required=False)  # absent: both; "null" is refused, not read as absent
    q = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    sort = serializers.ChoiceField(choices=selectors.SORTS, required=False, default="urgency")


def _query_data(request: Request) -> dict[str, Any]:
    params = request.query_params
    data: dict[str, Any] = {k: params[k] for k in ("level", "waiting", "q", "sort") if k in params}
    for many in ("state", "kind"):
        if many in params:
            data[many] = params.getlist(many)
    return data


class AlertListView(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state", str, many=True, enum=AlertState.values, description="Default: open and acknowledged"
            ),
            OpenApiParameter("level", str, enum=Severity.values, description="This severity or higher."),
            OpenApiParameter("kind", str, many=True, description="Only alerts of these kinds."),
            OpenApiParameter(
                "waiting",
                OpenApiTypes.BOOL,
                description="true: only alerts waiting for a follow-up date; false: only those not waiting. "
                "Default: both.",
            ),
            OpenApiParameter(
                "q",
                str,
                description="The patient's name or email contains this (case and accents "
                "ignored: Martinez finds Martínez).",
            ),
            OpenApiParameter(
                "sort",
                str,
                enum=selectors.SORTS,
                description="urgency (default: most severe first, then oldest), oldest, newest, or name. Alerts "
                "whose follow-up date has come are listed first in every order.",
            ),
        ],
        responses=AlertOutput(many=True),
        summary="Alerts in scope, most urgent first",
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        require_role(user, *STAFF)
        query = AlertQuery(data=_query_data(request))
        query.is_valid(raise_exception=True)
        values = query.validated_data
        states = sorted(values.get("state") or selectors.OPEN_STATES)
        now = clock.now()
        rows = selectors.filter_alerts(
            selectors.alert_list(user=user, states=states),
            now=now,
            level=values.get("level"),
            kinds=values.get("kind"),
            waiting=values.get("waiting"),
            q=values["q"],
        )
        rows = selectors.sort_alerts(selectors.with_contacts(rows, now=now), values["sort"])
        paginator, page = self.paginate(request, rows)
        audit_record(
            actor=user, action="list", resource="alert", patient_ids=[a.patient_id for a in page], request=request
        )
        return paginator.get_paginated_response(AlertOutput(page, many=True).data)


def _one_alert(user: Any, pk: UUID) -> Alert:
    rows = selectors.with_contacts(selectors.alert_list(user=user), now=clock.now())
    return rows.prefetch_related("events").get(pk=pk)


class AlertActionView(APIView):
    action_name = ""

    class Input(StrictSerializer):
        note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    def post(self, request: Request, alert_id: str) -> Response:
        user = request_user(request)
        alert = selectors.access_alert_by_user(user, alert_id)
        require_role(user, Role.COORDINATOR, Role.ADMIN)
        values = validated(self.Input, request.data)
        note = values["note"]
        if self.action_name == "acknowledge":
            alert = services.alert_acknowledge(alert=alert, actor=user, note=note)
        else:
            alert = services.alert_resolve(alert=alert, actor=user, note=note)
        audit_record(
            actor=user,
            action="update",
            resource="alert",
            patient_ids=[alert.patient_id],
            object_id=alert.id,
            request=request,
        )
        alert = _one_alert(user, alert.pk)
        return Response(AlertDetailOutput(alert).data)


class AlertAcknowledgeView(AlertActionView):
    action_name = "acknowledge"

    @extend_schema(request=AlertActionView.Input, responses=AlertDetailOutput, summary="Acknowledge an open alert")
    def post(self, request: Request, alert_id: str) -> Response:
        return super().post(request, alert_id)


class AlertResolveView(AlertActionView):
    action_name = "resolve"

    @extend_schema(
        request=AlertActionView.Input,
        responses=AlertDetailOutput,
        summary="Resolve an alert with a note of what was done",
    )
    def post(self, request: Request, alert_id: str) -> Response:
        return super().post(request, alert_id)


# --- contact attempts (issue 14) ----------------------------------------------------------------------------------
class ContactOutput(serializers.ModelSerializer[ContactAttempt]):
    by = serializers.CharField(source="actor.full_name", allow_null=True, default=None)

    class Meta:
        model = ContactAttempt
        fields = ["id", "alert", "channel", "outcome", "note", "follow_up_on", "actor", "by", "at"]


class ContactInput(StrictSerializer):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    outcome = serializers.ChoiceField(choices=ContactOutcome.choices)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    follow_up_on = BoundedDateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Try again on this date (the patient's local date, today or later): until then the alert waits.",
    )


class AlertContactsView(PaginatedListMixin, APIView):
    @extend_schema(responses=ContactOutput(many=True), summary="An alert's contact attempts, newest first")
    def get(self, request: Request, alert_id: str) -> Response:
        user = request_user(request)
        require_role(user, *STAFF)
        alert = selectors.access_alert_by_user(user, alert_id)
        paginator, page = self.paginate(request, selectors.contact_list(alert=alert))
        audit_record(
            actor=user, action="list", resource="contact_attempt", patient_ids=[alert.patient_id], request=request
        )
        return paginator.get_paginated_response(ContactOutput(page, many=True).data)

    @extend_schema(
        request=ContactInput,
        responses={
            201: ContactOutput,
            409: OpenApiResponse(
                ErrorSerializer, description="The alert is resolved (`code` = conflict): it takes no contact attempt."
            ),
        },
        summary="Log a try to reach the patient about this alert (repeatable; a resolved alert: 409)",
    )
    def post(self, request: Request, alert_id: str) -> Response:
        user = request_user(request)
        alert = selectors.access_alert_by_user(user, alert_id)
        require_role(user, Role.COORDINATOR, Role.ADMIN)
        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = services.contact_attempt_record(alert=alert, actor=user, **data.validated_data)
        audit_record(
            actor=user,
            action="create",
            resource="contact_attempt",
            patient_ids=[alert.patient_id],
            object_id=attempt.pk,
            request=request,
        )
        return Response(ContactOutput(attempt).data, status=status.HTTP_201_CREATED)


# --- several alerts at once (the worklist's checkboxes) ----------------------------------------------------------
class BulkInput(StrictSerializer):
    action = serializers.ChoiceField(choices=[("acknowledge", "acknowledge"), ("resolve", "resolve")])
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class AlertBulkView(APIView):
    @extend_schema(
        request=BulkInput,
        responses=AlertOutput(many=True),
        summary="Acknowledge or resolve several alerts at once: all or none (one out of scope: 404, one that "
        "cannot take the action: 400; nothing written)",
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        require_role(user, Role.COORDINATOR, Role.ADMIN)
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        ids = list(dict.fromkeys(values["ids"]))
        with transaction.atomic():
            alerts = [selectors.access_alert_by_user(user, pk) for pk in ids]
            done = services.alerts_act_together(alerts=alerts, actor=user, action=values["action"], note=values["note"])
            for alert in done:
                audit_record(
                    actor=user,
                    action="update",
                    resource="alert",
                    patient_ids=[alert.patient_id],
                    object_id=alert.pk,
                    request=request,
                )
        rows = selectors.with_contacts(selectors.alert_list(user=user), now=clock.now()).filter(pk__in=ids)
        return Response(AlertOutput(rows, many=True).data)


class NoticeOutput(serializers.ModelSerializer[Notice]):
    class Meta:
        model = Notice
        fields = ["id", "kind", "title", "body", "schedule", "published_at"]


class NoticeListView(PaginatedListMixin, PatientDataView):
    audit_resource = "notice"

    @extend_schema(responses=NoticeOutput(many=True), summary="Plain-language notices for the patient, newest first")
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        return self.paginated_response(request, selectors.notice_list(patient=patient), NoticeOutput)
