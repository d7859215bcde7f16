"""Auth, /me, organisations, staff and care-team endpoints. Views stay thin: validate, call a service, shape."""

from typing import Any

from django.db import transaction
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apps.accounts import mfa, selectors, services
from apps.accounts.api_base import request_user
from apps.accounts.models import CareTeamAssignment, Organisation, User
from backend.access import NotInScope
from backend.audit import audit_denied, audit_record
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import DeviceIdField, StrictSerializer, validated
from backend.throttles import RefreshTokenAccountThrottle, ResilientScopedRateThrottle


# --- auth -------------------------------------------------------------------------------------------------
class EmailTokenObtainSerializer(TokenObtainPairSerializer):
    otp_token = serializers.CharField(
        required=False,
        write_only=True,
        max_length=20,
        help_text=(
            "Staff when the second factor applies (STAFF_MFA_REQUIRED, or a device set up in the console): the 6-digit "
            "code from their authenticator app. Patients leave it out."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        attrs[self.username_field] = str(attrs.get(self.username_field, "")).strip().lower()
        code = str(attrs.pop("otp_token", "")).replace(" ", "")
        data = super().validate(attrs)
        if self.user is not None and mfa.second_factor_applies(self.user):  # staff: tokens read what the console shows
            _check_second_factor(self.user, code)
        return data


def _check_second_factor(user: User, code: str) -> None:
    device = mfa.confirmed_device(user)
    if device is None:
        raise serializers.ValidationError(
            {
                "otp_token": [
                    "Set up your authenticator app in the console first (sign in there once), then use its code."
                ]
            }
        )
    if not code:
        raise serializers.ValidationError({"otp_token": ["Enter the 6-digit code from your authenticator app."]})
    check = mfa.check_code(device, code)
    if check.wait_seconds:
        raise Throttled(wait=check.wait_seconds, detail="Too many wrong codes: wait, then try the code shown then.")
    if not check.ok:
        raise serializers.ValidationError({"otp_token": ["That code is not right: try the code your app shows now."]})


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()


@extend_schema_view(post=extend_schema(responses={200: TokenPairSerializer}, summary="Sign in"))
class TokenObtainView(TokenObtainPairView):
    """Sign in with email and password (staff: and the code of their second factor when it applies); answers an access
    and a refresh token. Attempts are throttled per client address, failures per account and per address
    (apps/accounts/signin_limits.py, checked in the auth backend)."""

    serializer_class = EmailTokenObtainSerializer
    throttle_classes = [ResilientScopedRateThrottle]
    throttle_scope = "auth"


@extend_schema_serializer(component_name="TokenRefresh")  # the schema's name for it before rotation became atomic
class RotatingRefreshSerializer(TokenRefreshSerializer):
    """A refresh token exchanged for a new pair; it stops working. Of concurrent refreshes of one token, one gets the
    new pair and the others 401, as a replay would."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # simplejwt's rotation, with the old token's revocation as an atomic claim (services.refresh_token_claim).
        refresh = self.token_class(attrs["refresh"])  # signature, expiry, not yet revoked
        user_id = refresh.payload.get(jwt_settings.USER_ID_CLAIM)
        user = User.objects.filter(id=str(user_id)).first() if user_id else None
        if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(str(self.error_messages["no_active_account"]), "no_active_account")
        with transaction.atomic():
            if not services.refresh_token_claim(refresh):
                raise TokenError("Token is blacklisted")  # a concurrent refresh of the same token won
            data = {"access": str(refresh.access_token)}
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            refresh.outstand()
        data["refresh"] = str(refresh)
        return data


class TokenRotateView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is revoked (rotation). Throttled per account
    (the token's user), not per address."""

    serializer_class = RotatingRefreshSerializer
    throttle_classes = [RefreshTokenAccountThrottle]
    throttle_scope = "refresh"


class LogoutView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [RefreshTokenAccountThrottle]
    throttle_scope = "logout"

    class Input(StrictSerializer):
        refresh = serializers.CharField()
        device_id = DeviceIdField(
            required=False,
            help_text="The app installation's own id (as sent to POST /devices/): her push devices registered from "
            "it are removed, so this phone stops reminding her and its token is free for the next account.",
        )

    @extend_schema(request=Input, responses={204: None}, summary="Revoke a refresh token (sign out)")
    def post(self, request: Request) -> Response:
        values = validated(self.Input, request.data)
        try:
            token = RefreshToken(values["refresh"])
            services.sign_out(token=token, device_id=values.get("device_id") or "")
        except TokenError as exc:
            raise serializers.ValidationError({"refresh": [str(exc)]}) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- me ---------------------------------------------------------------------------------------------------
class MeView(APIView):
    class Output(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        email = serializers.EmailField()
        full_name = serializers.CharField()
        role = serializers.ChoiceField(choices=Role.choices)
        organisation = serializers.UUIDField(source="organisation_id", allow_null=True)
        patient_id = serializers.SerializerMethodField()

        def get_patient_id(self, user: User) -> str | None:
            patient = getattr(user, "patient", None) if user.role == Role.PATIENT else None
            return str(patient.id) if patient else None

    @extend_schema(responses=Output, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        return Response(self.Output(request_user(request)).data)


# --- organisations ----------------------------------------------------------------------------------------
class OrganisationOutput(serializers.ModelSerializer[Organisation]):
    class Meta:
        model = Organisation
        fields = ["id", "name", "created_at"]


class OrganisationListCreateView(APIView):
    class Input(StrictSerializer):
        name = serializers.CharField(max_length=200)

    @extend_schema(responses=OrganisationOutput(many=True), summary="Organisations in scope")
    def get(self, request: Request) -> Response:
        return Response(OrganisationOutput(selectors.organisation_list(user=request_user(request)), many=True).data)

    @extend_schema(request=Input, responses={201: OrganisationOutput}, summary="Create an organisation (admin)")
    def post(self, request: Request) -> Response:
        require_role(request_user(request), Role.ADMIN)
        values = validated(self.Input, request.data)
        organisation = services.organisation_create(name=values["name"])
        return Response(OrganisationOutput(organisation).data, status=status.HTTP_201_CREATED)


# --- staff ------------------------------------------------------------------------------------------------
class StaffOutput(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "organisation", "is_active"]


class StaffListCreateView(APIView):
    class Input(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
        full_name = serializers.CharField(max_length=200, required=False, default="")
        role = serializers.ChoiceField(choices=[Role.COORDINATOR, Role.PHARMACIST])
        organisation = serializers.UUIDField()

    @extend_schema(responses=StaffOutput(many=True), summary="Staff in scope (admin: all; staff: own organisation)")
    def get(self, request: Request) -> Response:
        require_role(request_user(request), Role.ADMIN, Role.COORDINATOR, Role.PHARMACIST)
        return Response(StaffOutput(selectors.staff_list(user=request_user(request)), many=True).data)

    @extend_schema(request=Input, responses={201: StaffOutput}, summary="Create a coordinator or pharmacist (admin)")
    def post(self, request: Request) -> Response:
        require_role(request_user(request), Role.ADMIN)
        values = validated(self.Input, request.data)
        try:
            organisation = selectors.access_organisation_by_user(request_user(request), values["organisation"])
        except Http404 as exc:
            raise serializers.ValidationError({"organisation": ["No such organisation."]}) from exc
        user = services.staff_create(
            email=values["email"],
            password=values["password"],
            role=Role(values["role"]),
            organisation=organisation,
            full_name=values["full_name"],
            actor=request_user(request),
        )
        return Response(StaffOutput(user).data, status=status.HTTP_201_CREATED)


# --- care team --------------------------------------------------------------------------------------------
class CareTeamOutput(serializers.ModelSerializer[CareTeamAssignment]):
    self_assigned = serializers.SerializerMethodField(
        help_text="The staff member added herself (a coordinator's self-assignment), rather than an admin."
    )

    class Meta:
        model = CareTeamAssignment
        fields = ["id", "patient", "staff", "assigned_by", "self_assigned", "created_at"]

    def get_self_assigned(self, row: CareTeamAssignment) -> bool:
        return row.assigned_by_id == row.staff_id


class CareTeamView(APIView):
    """Care teams: an admin adds or removes anyone of the patient's organisation; a coordinator adds or removes only
    herself (403 otherwise); the patient's last coordinator cannot be removed (400). Every change, and every read
    of the list, is written to the audit log."""

    class Input(StrictSerializer):
        patient = serializers.UUIDField()
        staff = serializers.UUIDField()

    def _resolve(self, request: Request, source: Any) -> tuple[Any, Any]:
        require_role(request_user(request), Role.ADMIN, Role.COORDINATOR)
        values = validated(self.Input, source)
        errors: dict[str, list[str]] = {}
        patient = staff = None
        try:
            patient = selectors.access_patient_in_organisation(request_user(request), values["patient"])
        except NotInScope as exc:  # another organisation's patient, or none: the same answer, and logged
            audit_denied(actor=request.user, resource=exc.resource, requested_id=exc.requested_id, request=request)
            errors["patient"] = ["No such patient."]
        try:
            staff = selectors.access_staff_by_user(request_user(request), values["staff"])
        except Http404:
            errors["staff"] = ["No such coordinator or pharmacist."]
        if errors:
            raise serializers.ValidationError(errors)
        return patient, staff

    @extend_schema(responses=CareTeamOutput(many=True), summary="Care-team assignments of patients in scope")
    def get(self, request: Request) -> Response:
        require_role(request_user(request), Role.ADMIN, Role.COORDINATOR, Role.PHARMACIST)
        rows = list(
            CareTeamAssignment.objects.filter(patient__in=selectors.patient_list(user=request_user(request))).order_by(
                "created_at", "id"
            )
        )
        # Who looks after whom is patient data: the list is audited like the patient list (one event per patient).
        audit_record(
            actor=request_user(request),
            action="list",
            resource="care_team",
            patient_ids=[row.patient_id for row in rows],
            request=request,
        )
        return Response(CareTeamOutput(rows, many=True).data)

    @extend_schema(request=Input, responses={201: CareTeamOutput, 200: CareTeamOutput}, summary="Assign")
    def post(self, request: Request) -> Response:
        patient, staff = self._resolve(request, request.data)
        assignment, created = services.care_team_assign(actor=request_user(request), patient=patient, staff=staff)
        audit_record(
            actor=request_user(request),
            action="create",
            resource="care_team",
            patient_ids=[patient.id],
            object_id=assignment.id,
            request=request,
        )
        return Response(
            CareTeamOutput(assignment).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.UUID, required=True),
            OpenApiParameter("staff", OpenApiTypes.UUID, required=True),
        ],
        request=None,
        responses={204: None},
        summary="Unassign (ids as query parameters, or as a JSON body like POST)",
    )
    def delete(self, request: Request) -> Response:
        # Many HTTP clients drop DELETE bodies, so the query string is the documented way; a body also works.
        patient, staff = self._resolve(request, request.data or request.query_params)
        if not services.care_team_unassign(actor=request_user(request), patient=patient, staff=staff):
            raise Http404
        audit_record(
            actor=request_user(request),
            action="delete",
            resource="care_team",
            patient_ids=[patient.id],
            request=request,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
