"""Upcoming reminder occurrences and the patient's reminder preferences."""

from datetime import datetime, time, timedelta
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_base import PatientDataView, request_user
from apps.reminders import preferences
from apps.reminders.models import ReminderOccurrence
from backend import clock
from backend.pagination import PaginatedListMixin
from backend.roles import Role
from backend.serializers import BoundedDateField, LocalTimeField, QuerySerializer, StrictSerializer, validated

MAX_WINDOW = timedelta(days=31)


class ReminderOutput(serializers.ModelSerializer[ReminderOccurrence]):
    schedule = serializers.UUIDField(source="source_id", help_text="The schedule or plan it comes from.")

    class Meta:
        model = ReminderOccurrence
        fields = [
            "id",
            "source_kind",
            "schedule",
            "kind",
            "due_at",
            "local_date",
            "local_time",
            "state",
            "text_generic",
        ]


class ReminderQuery(QuerySerializer):
    # "from" is a keyword: the field is added below.
    to = BoundedDateField(
        required=False,
        help_text=f"Last local date, at most {MAX_WINDOW.days} days after 'from' (default: 'from' + 13 days).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("from"), attrs.get("to")
        if first and last and last < first:
            raise serializers.ValidationError({"to": ["Must not be before 'from'."]})
        if first and last and last - first > MAX_WINDOW:
            raise serializers.ValidationError({"to": ["The window is at most 31 days."]})
        return attrs


ReminderQuery._declared_fields["from"] = BoundedDateField(
    required=False, help_text="First local date (default: her today)."
)


class ReminderListView(PaginatedListMixin, PatientDataView):
    audit_resource = "reminders"

    @extend_schema(
        parameters=[ReminderQuery],
        responses=ReminderOutput(many=True),
        summary="Upcoming reminder occurrences (default: the next 14 days)",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient, query = self.patient_query(request, patient_id, ReminderQuery)
        zone = clock.zone(patient.profile.timezone)
        today = clock.local_today(patient.profile.timezone)
        first = query.get("from") or today
        last = query.get("to") or first + timedelta(days=13)
        if last - first > MAX_WINDOW:
            raise serializers.ValidationError({"to": ["The window is at most 31 days."]})
        start = datetime.combine(first, time(0), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        rows = ReminderOccurrence.objects.filter(patient=patient, due_at__gte=start, due_at__lt=end).order_by(
            "due_at", "id"
        )
        return self.paginated_response(request, rows, ReminderOutput)


class PreferenceOutput(serializers.Serializer[Any]):
    reminders_enabled = serializers.BooleanField()
    nudges_enabled = serializers.BooleanField()
    nudge_after_minutes = serializers.IntegerField()
    quiet_hours_start = LocalTimeField(allow_null=True)
    quiet_hours_end = LocalTimeField(allow_null=True)
    push_detail_opt_in = serializers.BooleanField(help_text="Push texts may name the medicine.")


class ReminderPreferenceView(PatientDataView):
    audit_resource = "reminder_preferences"
    roles_by_method = {"PATCH": (Role.PATIENT, Role.COORDINATOR, Role.ADMIN)}

    class Input(StrictSerializer):
        reminders_enabled = serializers.BooleanField(required=False)
        nudges_enabled = serializers.BooleanField(required=False)
        nudge_after_minutes = serializers.IntegerField(
            min_value=preferences.NUDGE_AFTER_MINUTES[0], max_value=preferences.NUDGE_AFTER_MINUTES[1], required=False
        )
        quiet_hours_start = LocalTimeField(required=False, allow_null=True)
        quiet_hours_end = LocalTimeField(required=False, allow_null=True)
        push_detail_opt_in = serializers.BooleanField(required=False)

    @extend_schema(responses=PreferenceOutput, summary="Reminder preferences")
    def get(self, request: Request, patient_id: str) -> Response:
        settings = preferences.reminder_settings(patient=self.get_patient(request, patient_id))
        return Response(PreferenceOutput(settings).data)

    @extend_schema(request=Input, responses=PreferenceOutput, summary="Change reminder preferences")
    def patch(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        values = validated(self.Input, request.data, partial=True)
        settings = preferences.reminder_settings_update(actor=request_user(request), patient=patient, **values)
        return Response(PreferenceOutput(settings).data)
