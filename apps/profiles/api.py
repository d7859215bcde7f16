"""Patients, profiles, DXA results, labs and the bone-health assessment."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.account_tokens import invitation_status
from apps.accounts.api_account import InvitationStatusOutput
from apps.accounts.api_base import PatientDataView, request_user
from apps.accounts.models import MRN_MAX_LENGTH, MRN_VALIDATOR
from apps.profiles import selectors, services
from apps.profiles.models import (
    AiPlannedYears,
    AiStopReason,
    BoneDensityResult,
    ContactChannel,
    LabKind,
    LabResult,
    PatientProfile,
)
from apps.profiles.rules import H1_ADVICE
from backend.errors import ErrorSerializer
from backend.pagination import PaginatedListMixin
from backend.roles import Role
from backend.serializers import (
    BoundedDateField,
    DecimalField,
    LocalTimeField,
    StrictModelSerializer,
    StrictSerializer,
    validated,
)

STAFF_WRITERS = (Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)
# Who records or clears an AI stop (it stops her schedules and raises or resolves a high alert): she herself, her
# coordinators, admins; pharmacists read it (as her profile, which they do not edit either).
AI_COURSE_WRITERS = (Role.PATIENT, Role.COORDINATOR, Role.ADMIN)
PHONE_HELP = (
    'A phone number in international (E.164) form, e.g. "+442079460123"; spaces and dashes are accepted and removed. '
    "Empty string: none."
)

# Her weekly joint-pain check-in reminder (issue 15): she chooses the day and time; both are in her zone.
CHECK_IN_WEEKDAY_HELP = "The weekday of her weekly joint-pain check-in reminder: 0 = Monday ... 6 = Sunday."
CHECK_IN_TIME_HELP = 'Local time of her weekly joint-pain check-in reminder in her zone, e.g. "18:00".'
MRN_HELP = (
    "Her clinic's medical record number (staff set it; she cannot): 1 to 40 letters, digits, '.', '_', '/' or '-', "
    "unique in the organisation (a duplicate: 400 on mrn). Empty string: none. FHIR: Patient.identifier of type MR."
)


def mrn_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=MRN_MAX_LENGTH, required=False, allow_blank=True, validators=[MRN_VALIDATOR], help_text=MRN_HELP
    )


@extend_schema_field({"type": "string"})
class PhoneField(PhoneNumberField):
    """A phone number validated by django-phonenumber-field (libphonenumber); written and read as E.164. No default
    region: a number without its country code is refused rather than guessed."""

    default_error_messages = {
        "invalid": "Enter a valid phone number with its country code, e.g. +44 20 7946 0123.",
    }

    def to_representation(self, value: object) -> str:
        return str(value) if value else ""


class PlannedYearsField(serializers.ChoiceField):
    """5 or 10, as a JSON number (DOMAIN T1): "5" is refused like any other mistyped number."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class ProfileFields(StrictModelSerializer):
    """Profile fields with their model validators (ranges, choices, decimal precision)."""

    timezone = serializers.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/Paris.")
    quiet_hours_start = LocalTimeField(required=False, allow_null=True)
    quiet_hours_end = LocalTimeField(required=False, allow_null=True)
    check_in_weekday = serializers.IntegerField(
        min_value=0, max_value=6, required=False, help_text=CHECK_IN_WEEKDAY_HELP
    )
    check_in_time = LocalTimeField(required=False, help_text=CHECK_IN_TIME_HELP)
    phone = PhoneField(required=False, allow_blank=True, help_text=PHONE_HELP)
    phone_alt = PhoneField(required=False, allow_blank=True, help_text=PHONE_HELP)
    ai_planned_years = PlannedYearsField(
        choices=AiPlannedYears.choices,
        required=False,
        allow_null=True,
        help_text="The planned AI course: 5 or 10 years from ai_started_on (DOMAIN T1), or null. Setting it clears "
        "ai_planned_end_on unless that is sent too (both set: 400).",
    )

    class Meta:
        model = PatientProfile
        fields = list(services.PROFILE_FIELDS)


class AiCourseOutput(serializers.Serializer[Any]):
    """Her aromatase-inhibitor course on her local today (DOMAIN T1): read-only figures derived from the profile."""

    aromatase_inhibitor = serializers.CharField(help_text="anastrozole | letrozole | exemestane; empty: not recorded.")
    started_on = BoundedDateField(allow_null=True, help_text="ai_started_on.")
    planned_years = serializers.ChoiceField(
        choices=AiPlannedYears.choices, allow_null=True, help_text="ai_planned_years: 5 or 10, null when not set."
    )
    given_end_on = BoundedDateField(allow_null=True, help_text="ai_planned_end_on: an end date set instead.")
    planned_end_on = BoundedDateField(
        allow_null=True,
        help_text="The planned end: the end date set, else the start + the planned years; null when neither is known.",
    )
    planned_length_years = DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, help_text="The planned length in years, one decimal."
    )
    years_completed = DecimalField(
        max_digits=4,
        decimal_places=1,
        allow_null=True,
        help_text="Years from the start to her local today, or to the day she stopped; truncated to one decimal. "
        "Null without a start date.",
    )
    years_remaining = DecimalField(
        max_digits=4,
        decimal_places=1,
        allow_null=True,
        help_text="Years from her local today to the planned end, rounded up to one decimal; 0.0 from the planned "
        "end on. Null without a planned end, or once she stopped.",
    )
    stopped_on = BoundedDateField(allow_null=True, help_text="The first day she was off it; null while on it.")
    stop_reason = serializers.ChoiceField(
        choices=[("", "Not stopped"), *AiStopReason.choices], help_text="Why she stopped; empty while on it."
    )


class PatientOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    organisation = serializers.UUIDField(source="organisation_id")
    mrn = serializers.CharField(help_text="Her clinic's medical record number; empty when not known.")
    birth_date = BoundedDateField(source="profile.birth_date")
    timezone = serializers.CharField(source="profile.timezone")
    aromatase_inhibitor = serializers.CharField(source="profile.aromatase_inhibitor")
    ai_started_on = BoundedDateField(source="profile.ai_started_on", allow_null=True)
    ai_planned_years = serializers.ChoiceField(
        source="profile.ai_planned_years",
        choices=AiPlannedYears.choices,
        allow_null=True,
        help_text="The planned AI course in years (5 or 10; DOMAIN T1), or null (see ai_planned_end_on).",
    )
    ai_planned_end_on = BoundedDateField(
        source="profile.ai_planned_end_on", allow_null=True, help_text="The planned end date, set instead of years."
    )
    ai_stopped_on = BoundedDateField(
        source="profile.ai_stopped_on", allow_null=True, help_text="Read-only: set by POST .../ai-course/stop/."
    )
    ai_stop_reason = serializers.ChoiceField(
        source="profile.ai_stop_reason",
        choices=[("", "Not stopped"), *AiStopReason.choices],
        help_text="Read-only: set by POST .../ai-course/stop/.",
    )
    ai_course = serializers.SerializerMethodField(help_text="Derived, read-only (DOMAIN T1).")
    height_cm = DecimalField(source="profile.height_cm", max_digits=4, decimal_places=1, allow_null=True)
    weight_kg = DecimalField(source="profile.weight_kg", max_digits=4, decimal_places=1, allow_null=True)
    smoker = serializers.CharField(source="profile.smoker")
    family_hip_fracture = serializers.BooleanField(source="profile.family_hip_fracture")
    prior_fragility_fracture = serializers.BooleanField(source="profile.prior_fragility_fracture")
    oral_corticosteroids_months = serializers.IntegerField(source="profile.oral_corticosteroids_months")
    prior_skeletal_radiation = serializers.BooleanField(source="profile.prior_skeletal_radiation")
    bone_metastases = serializers.BooleanField(source="profile.bone_metastases")
    cannot_stay_upright = serializers.BooleanField(source="profile.cannot_stay_upright")
    esophageal_disorder = serializers.BooleanField(source="profile.esophageal_disorder")
    quiet_hours_start = LocalTimeField(source="profile.quiet_hours_start", allow_null=True)
    quiet_hours_end = LocalTimeField(source="profile.quiet_hours_end", allow_null=True)
    push_detail_opt_in = serializers.BooleanField(source="profile.push_detail_opt_in")
    check_in_weekday = serializers.IntegerField(source="profile.check_in_weekday", help_text=CHECK_IN_WEEKDAY_HELP)
    check_in_time = LocalTimeField(source="profile.check_in_time", help_text=CHECK_IN_TIME_HELP)
    phone = PhoneField(source="profile.phone", help_text="Main phone number (E.164), empty when none.")
    phone_alt = PhoneField(source="profile.phone_alt", help_text="Another phone number (E.164), empty when none.")
    preferred_channel = serializers.ChoiceField(
        choices=[("", "Not known"), *ContactChannel.choices],
        source="profile.preferred_channel",
        help_text="How she prefers to be contacted; empty when not known.",
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(source="profile.updated_at")

    @extend_schema_field(AiCourseOutput)
    def get_ai_course(self, patient: Any) -> dict[str, Any]:
        return dict(AiCourseOutput(selectors.ai_course_of(patient.profile)).data)


class PatientDetailOutput(PatientOutput):
    invitation = serializers.SerializerMethodField(
        help_text="Her latest invitation to set her own password (issue 17), or null when she never had one (staff "
        "set her password at enrolment)."
    )

    @extend_schema_field(InvitationStatusOutput(allow_null=True))
    def get_invitation(self, patient: Any) -> dict[str, Any] | None:
        found = invitation_status(patient.user)
        return dict(InvitationStatusOutput(found).data) if found is not None else None


class PatientDetailView(PatientDataView):
    audit_resource = "patient"
    roles_by_method = {"PATCH": (Role.PATIENT, Role.COORDINATOR, Role.ADMIN)}

    class Input(ProfileFields):
        full_name = serializers.CharField(max_length=200, required=False)
        mrn = mrn_field()

        class Meta(ProfileFields.Meta):
            fields = [*ProfileFields.Meta.fields, "full_name", "mrn"]

    @extend_schema(responses=PatientDetailOutput, summary="A patient's profile, and the state of her invitation")
    def get(self, request: Request, patient_id: str) -> Response:
        return Response(PatientDetailOutput(self.get_patient(request, patient_id)).data)

    @extend_schema(request=Input, responses=PatientOutput, summary="Change profile fields")
    def patch(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        values = validated(self.Input, request.data, instance=patient.profile, partial=True)
        services.patient_profile_update(actor=request_user(request), patient=patient, **values)
        return Response(PatientOutput(patient).data)


class BoneDensityOutput(serializers.ModelSerializer[BoneDensityResult]):
    class Meta:
        model = BoneDensityResult
        fields = ["id", "measured_on", "site", "t_score", "recorded_by", "created_at"]


class BoneDensityView(PaginatedListMixin, PatientDataView):
    audit_resource = "bone_density"
    roles_by_method = {"POST": STAFF_WRITERS}

    class Input(StrictModelSerializer):
        class Meta:
            model = BoneDensityResult
            fields = ["measured_on", "site", "t_score"]

    @extend_schema(responses=BoneDensityOutput(many=True), summary="DXA results, newest first")
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        return self.paginated_response(request, selectors.bone_density_list(patient=patient), BoneDensityOutput)

    @extend_schema(request=Input, responses={201: BoneDensityOutput}, summary="Record a DXA result (staff)")
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        result = services.bone_density_record(actor=request_user(request), patient=patient, **values)
        return self.recorded(result, BoneDensityOutput)


class LabOutput(serializers.ModelSerializer[LabResult]):
    class Meta:
        model = LabResult
        fields = ["id", "kind", "value", "unit", "measured_on", "recorded_by", "created_at"]


class LabView(PaginatedListMixin, PatientDataView):
    audit_resource = "lab"
    roles_by_method = {"POST": STAFF_WRITERS}

    class Input(StrictModelSerializer):
        class Meta:
            model = LabResult
            fields = ["kind", "value", "unit", "measured_on"]

    @extend_schema(
        parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=LabKind.values)],
        responses=LabOutput(many=True),
        summary="Lab results, newest first",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in LabKind.values:
            raise serializers.ValidationError({"kind": [f"Must be one of: {', '.join(LabKind.values)}."]})
        return self.paginated_response(request, selectors.lab_list(patient=patient, kind=kind), LabOutput)

    @extend_schema(request=Input, responses={201: LabOutput}, summary="Record a lab result (staff)")
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        result = services.lab_record(actor=request_user(request), patient=patient, **values)
        return self.recorded(result, LabOutput)


class FindingOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    rule = serializers.CharField(help_text="DOMAIN rule id, e.g. H2.")


class CurrentTherapyOutput(serializers.Serializer[Any]):
    schedule = serializers.UUIDField(source="schedule_id")
    medication_code = serializers.CharField()
    medication_name = serializers.CharField()
    dose = serializers.CharField()
    starts_on = BoundedDateField()
    ends_on = BoundedDateField(allow_null=True)


class BoneHealthOutput(serializers.Serializer[Any]):
    therapy_recommended = serializers.BooleanField(
        help_text="Start bone-directed therapy (DOMAIN H2 met and she is not on it): false while she is on therapy, "
        "whose H2 reasons still show."
    )
    on_therapy = serializers.BooleanField(
        help_text="She has an active bone-directed schedule today (her local date): an oral bisphosphonate, "
        "denosumab, zoledronic acid or teriparatide."
    )
    current_therapy = CurrentTherapyOutput(many=True, help_text="Those active schedules.")
    reasons = FindingOutput(many=True)
    risk_factors = FindingOutput(many=True)
    advice = FindingOutput(many=True)
    lowest_t_score = DecimalField(max_digits=3, decimal_places=1, allow_null=True)
    lowest_t_score_site = serializers.CharField(allow_null=True)
    lowest_t_score_measured_on = BoundedDateField(allow_null=True)
    last_dxa_on = BoundedDateField(allow_null=True, help_text="The latest DXA on record; null when none is.")
    dxa_due_on = BoundedDateField(  # DOMAIN H1, H2 (-1.5), H4 (12 / 24 months): documents BONE_HEALTH_THRESHOLDS
        help_text="When a DXA is due: today when none is on record (baseline, H1), else the last DXA + 12 months "
        "(T-score below -1.5, a risk factor, or therapy indicated or given) or + 24 months (H4)."
    )
    next_dxa_due = BoundedDateField(help_text="The same date as dxa_due_on (its original name).")


class BoneHealthView(PatientDataView):
    audit_resource = "bone_health"

    @extend_schema(responses=BoneHealthOutput, summary="Bone-health assessment (DOMAIN H1-H4)")
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        assessment = selectors.bone_health_assessment(patient=patient)
        payload = {**vars(assessment), "next_dxa_due": assessment.next_dxa_due, "advice": list(H1_ADVICE)}
        return Response(BoneHealthOutput(payload).data)


class AiCourseStopView(PatientDataView):
    """She stopped her aromatase inhibitor (issue 15): the patient herself, her coordinators or an admin record it."""

    audit_resource = "ai_course"
    roles_by_method = {"POST": AI_COURSE_WRITERS}

    class Input(StrictSerializer):
        stopped_on = BoundedDateField(help_text="Her local date: the first day she was off it; not in the future.")
        reason = serializers.ChoiceField(choices=AiStopReason.choices)

    @extend_schema(
        request=Input,
        responses={
            200: AiCourseOutput,
            409: OpenApiResponse(
                ErrorSerializer,
                description="Another stop is already recorded (`code` = conflict): resume the course first.",
            ),
        },
        summary="Record that she stopped her aromatase inhibitor",
        description="Records the stop once: her coordinators get a high alert (kind ai_stopped, rule T1) unless the "
        "reason is doctor_decision, and her active aromatase-inhibitor schedules are stopped as of that date. "
        "Sending the same stop again changes nothing (200); another stop while one is recorded is a 409 "
        "(resume first).",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        profile, _ = services.ai_course_stop(actor=request_user(request), patient=patient, **values)
        return Response(AiCourseOutput(selectors.ai_course_of(profile)).data)


class AiCourseResumeView(PatientDataView):
    """She restarted her aromatase inhibitor after a recorded stop."""

    audit_resource = "ai_course"
    roles_by_method = {"POST": AI_COURSE_WRITERS}

    @extend_schema(
        request=None,
        responses={200: AiCourseOutput},
        summary="Clear a recorded stop: she restarted her aromatase inhibitor",
        description="Resolves the stop's open alert. Her stopped schedule stays stopped: the care team enters a new "
        "one. Nothing recorded: nothing changes (200).",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        profile = services.ai_course_resume(actor=request_user(request), patient=patient)
        return Response(AiCourseOutput(selectors.ai_course_of(profile)).data)
