"""Care alerts for staff and notices for patients."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, request_user
from apps.alerts import selectors, services
from apps.alerts.models import Alert, AlertEvent, AlertState, Notice
from backend.audit import audit_record
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import QuerySerializer, StrictSerializer, validated

STAFF = (Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)


class AlertEventOutput(serializers.ModelSerializer[AlertEvent]):
    class Meta:
        model = AlertEvent
        fields = ["action", "actor", "note", "at"]


class AlertOutput(serializers.ModelSerializer[Alert]):
    patient_name = serializers.CharField(source="patient.user.full_name")

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
        ]


class AlertDetailOutput(AlertOutput):
    events = AlertEventOutput(many=True)

    class Meta(AlertOutput.Meta):
        fields = [*AlertOutput.Meta.fields, "events"]


class AlertQuery(QuerySerializer):
    state = serializers.MultipleChoiceField(choices=AlertState.choices, required=False)


class AlertListView(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state", str, many=True, enum=AlertState.values, description="Default: open and acknowledged"
            )
        ],
        responses=AlertOutput(many=True),
        summary="Alerts in scope, most urgent first",
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        require_role(user, *STAFF)
        query = validated(
            AlertQuery, {"state": request.query_params.getlist("state")} if "state" in request.query_params else {}
        )
        states = sorted(query.get("state") or selectors.OPEN_STATES)
        paginator, page = self.paginate(request, selectors.alert_list(user=user, states=states))
        audit_record(
            actor=user, action="list", resource="alert", patient_ids=[a.patient_id for a in page], request=request
        )
        return paginator.get_paginated_response(AlertOutput(page, many=True).data)


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
        alert = selectors.alert_list(user=user).prefetch_related("events").get(pk=alert.pk)
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
