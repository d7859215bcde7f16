"""/api/v1/patients/: the caseload as the API gives it (GET), and enrolment into it (POST, profiles' service)."""

from decimal import Decimal

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import request_user
from apps.accounts.selectors import access_organisation_by_user
from apps.caseload.selectors import patient_caseload
from apps.medications.services import adherence_catch_up
from apps.profiles import services as profile_services
from apps.profiles.api import PatientOutput, ProfileFields, mrn_field
from backend.audit import audit_record
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import DecimalField, QuerySerializer, validated


def _pdc_filter(help_text: str) -> DecimalField:
    """A PDC threshold from 0 to 1 (DOMAIN P1), the unit the adherence figures use."""
    return DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=Decimal("0"),
        max_value=Decimal("1"),
        required=False,
        default=None,
        help_text=help_text,
    )


class PatientListQuery(QuerySerializer):
    """`q` and the caseload's filters (apps.caseload.selectors.FILTERS), one query parameter each."""

    q = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, help_text="Search name or email."
    )
    alert_level = serializers.ChoiceField(
        choices=["urgent", "high", "normal", "low"],
        required=False,
        default=None,
        help_text="Only patients with an open alert of this severity or higher.",
    )
    adherence_below = _pdc_filter(
        "Only patients with an active schedule whose last 90-day PDC is below this (e.g. 0.8)."
    )
    ai_adherence_below = _pdc_filter(
        "Only patients with an active aromatase-inhibitor schedule whose last 90-day PDC is below this (e.g. 0.8): "
        "her cancer treatment, apart from the bone medicines."
    )
    calcium_below = DecimalField(
        max_digits=6,
        decimal_places=1,
        min_value=Decimal("0"),
        max_value=Decimal("10000"),
        required=False,
        default=None,
        help_text="Only patients whose average daily calcium (diet + supplements, mg) over the last 7 days is below.",
    )
    exercise_below = serializers.IntegerField(
        min_value=0,
        max_value=10080,
        required=False,
        default=None,
        help_text="Only patients with fewer weight-bearing minutes than this over the last 7 days.",
    )


class PatientListCreateView(PaginatedListMixin, APIView):
    class Input(ProfileFields):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(
            max_length=128,
            write_only=True,
            trim_whitespace=False,
            required=False,
            help_text="Leave out (the usual way): she is emailed an invitation to choose her own password "
            "(a one-time link and a short code, valid INVITATION_TTL_HOURS). Given, she signs in with it and is "
            "not invited.",
        )
        full_name = serializers.CharField(max_length=200, required=False, default="")
        organisation = serializers.UUIDField(required=False, help_text="Admins only; staff enrol into their own.")
        mrn = mrn_field()

        class Meta(ProfileFields.Meta):
            fields = [*ProfileFields.Meta.fields, "email", "password", "full_name", "organisation", "mrn"]
            extra_kwargs = {"birth_date": {"required": True}, "timezone": {"required": True}}

    @extend_schema(
        parameters=[PatientListQuery],
        responses=PatientOutput(many=True),
        summary="Patients in scope (a patient sees only herself)",
    )
    def get(self, request: Request) -> Response:
        query = validated(PatientListQuery, request.query_params)
        filters = dict(query)
        q = filters.pop("q")
        if filters["adherence_below"] is not None or filters["ai_adherence_below"] is not None:
            adherence_catch_up()  # the filter reads the stored figure: never a stale one
        rows = patient_caseload(user=request_user(request), q=q, filters=filters)
        paginator, page = self.paginate(request, rows.select_related("profile"))
        audit_record(
            actor=request_user(request),
            action="list",
            resource="patient",
            patient_ids=[p.id for p in page],
            request=request,
        )
        return paginator.get_paginated_response(PatientOutput(page, many=True).data)

    @extend_schema(
        request=Input,
        responses={201: PatientOutput},
        summary="Enrol a patient and invite her to set her password (coordinator, admin)",
    )
    def post(self, request: Request) -> Response:
        require_role(request_user(request), Role.COORDINATOR, Role.ADMIN)
        values = validated(self.Input, request.data)
        organisation_id = values.pop("organisation", None)
        actor = request_user(request)
        if actor.role == Role.ADMIN:
            if organisation_id is None:
                raise serializers.ValidationError({"organisation": ["Admins must name the organisation."]})
            try:
                organisation = access_organisation_by_user(actor, organisation_id)
            except Http404 as exc:
                raise serializers.ValidationError({"organisation": ["No such organisation."]}) from exc
        else:
            if organisation_id is not None and organisation_id != actor.organisation_id:
                raise serializers.ValidationError({"organisation": ["You enrol into your own organisation."]})
            organisation = actor.organisation  # type: ignore[assignment]
        patient = profile_services.patient_enrol(actor=actor, organisation=organisation, **values)
        audit_record(actor=actor, action="create", resource="patient", patient_ids=[patient.id], request=request)
        if values.get("password") is None:  # issue 17: her invitation went out with the enrolment
            audit_record(actor=actor, action="create", resource="invitation", patient_ids=[patient.id], request=request)
        return Response(PatientOutput(patient).data, status=status.HTTP_201_CREATED)
