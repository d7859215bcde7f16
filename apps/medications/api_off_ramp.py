"""The denosumab off-ramp (DOMAIN D7) of a patient: for each denosumab schedule that is stopped or has a planned end,
the follow-on anti-resorptive's target date, the follow-on found and whether it starts in time."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_base import PatientDataView
from apps.medications import selectors
from apps.medications.models import ScheduleStatus
from apps.medications.rules.off_ramp import OffRampStatus
from backend import clock
from backend.serializers import BoundedDateField


class FollowOnOutput(serializers.Serializer[Any]):
    schedule = serializers.UUIDField(source="schedule_id")
    medication_code = serializers.CharField()
    medication_name = serializers.CharField()
    starts_on = BoundedDateField()
    ends_on = BoundedDateField(allow_null=True)


class OffRampOutput(serializers.Serializer[Any]):
    schedule = serializers.UUIDField(source="schedule.id")
    medication_code = serializers.CharField(source="schedule.medication.code")
    schedule_status = serializers.ChoiceField(choices=ScheduleStatus.choices, source="schedule.status")
    ends_on = BoundedDateField(source="schedule.ends_on", allow_null=True, help_text="The planned end, if any.")
    stopped = serializers.BooleanField(
        source="off_ramp.stopped",
        help_text="True: stopped by hand or its course has ended; false: a planned stop still ahead (ends_on).",
    )
    stops_on = BoundedDateField(
        source="off_ramp.stops_on",
        allow_null=True,
        help_text="The first day without denosumab for a planned end (the day after ends_on); null when stopped by "
        "hand.",
    )
    last_given = BoundedDateField(
        source="off_ramp.last_given", allow_null=True, help_text="The last injection recorded as given."
    )
    last_injection_on = BoundedDateField(
        source="off_ramp.last_injection_on",
        allow_null=True,
        help_text="The last injection before the stop: the last given, or for a planned stop the last still due on "
        "or before ends_on (if given on time).",
    )
    target_on = BoundedDateField(
        source="off_ramp.target_on",
        help_text="DOMAIN D7: the follow-on is due by this date, the last injection + 6 calendar months (with no "
        "injection, the schedule's first due date).",
    )
    protected_until = BoundedDateField(
        source="off_ramp.protected_until",
        help_text="The last day the stopped denosumab still protects her (target + the 28-day on-time window, D4/D5): "
        "a follow-on starting by then is in time.",
    )
    follow_on = FollowOnOutput(
        source="off_ramp.follow_on",
        allow_null=True,
        help_text="Her other active anti-resorptive schedule that covers her (the earliest), else the earliest that "
        "starts too late; null when there is none.",
    )
    follow_ons = FollowOnOutput(
        source="off_ramp.follow_ons",
        many=True,
        help_text="Every other anti-resorptive schedule of hers that is active by status and not over (the "
        "candidates), earliest first.",
    )
    follow_on_found = serializers.BooleanField(source="off_ramp.follow_on_found")
    in_time = serializers.BooleanField(
        source="off_ramp.in_time",
        allow_null=True,
        help_text="The follow-on starts on or before protected_until; null when there is no follow-on.",
    )
    status = serializers.ChoiceField(
        choices=[(s.value, s.value) for s in OffRampStatus],
        source="off_ramp.status",
        help_text="planned: stop ahead, follow-on in time; needs_follow_on: none, or it starts too late (a stopped "
        "one has the D5 `stopped` alert open); covered: stopped, a follow-on protects her; lapsed: stopped, "
        "uncovered, past protected_until.",
    )
    rule = serializers.CharField(source="off_ramp.rule")
    alert_rule = serializers.CharField(source="off_ramp.alert_rule", help_text="The alert's rule (D5 `stopped`).")


class OffRampView(PatientDataView):
    audit_resource = "off_ramp"

    @extend_schema(
        responses=OffRampOutput(many=True),
        summary="The denosumab off-ramp (DOMAIN D7): follow-on target date and whether one starts in time",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        today = clock.local_today(patient.profile.timezone, clock.now())
        return Response(OffRampOutput(selectors.off_ramps_of(patient, today=today), many=True).data)
