"""Admins read the audit log over the API (and in the Django admin)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.models import AuditEvent
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import QuerySerializer, validated


class AuditEventOutput(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_role", "patient_id", "action", "resource", "object_id", "method", "path"]


class AuditFilter(QuerySerializer):
    patient = serializers.UUIDField(required=False)
    actor = serializers.UUIDField(required=False)
    action = serializers.ChoiceField(choices=AuditEvent.Action.choices, required=False)


class AuditEventListView(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.UUID, description="Only events about this patient"),
            OpenApiParameter("actor", OpenApiTypes.UUID, description="Only events by this user"),
            OpenApiParameter(
                "action",
                OpenApiTypes.STR,
                enum=AuditEvent.Action.values,
                description="Only this action: `denied` lists refused out-of-scope lookups, `burst` the accounts whose "
                "refusals reached the alarm threshold (AUDIT_DENIED_BURST within AUDIT_DENIED_WINDOW_MINUTES).",
            ),
        ],
        responses=AuditEventOutput(many=True),
        summary="The audit log, newest first (admin)",
    )
    def get(self, request: Request) -> Response:
        require_role(request.user, Role.ADMIN)
        query = validated(AuditFilter, request.query_params)
        rows = AuditEvent.objects.all()
        if "patient" in query:
            rows = rows.filter(patient_id=query["patient"])
        if "actor" in query:
            rows = rows.filter(actor_id=query["actor"])
        if "action" in query:
            rows = rows.filter(action=query["action"])
        return self.paginated_response(request, rows, AuditEventOutput)
