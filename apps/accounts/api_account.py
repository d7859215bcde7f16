"""Her own account (issue 17 part 6): accepting an invitation, password resets, and resending an invitation.

The public endpoints answer a bad token, code or email with one and the same 400 (and a reset request always with the
same 202), so no answer says whether an email has an account. They are throttled per client address; reset requests
also per email address asked about."""

import hashlib
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts import account_tokens
from apps.accounts.account_tokens import NOT_VALID, NotRedeemableError, Purpose
from apps.accounts.api import TokenPairSerializer
from apps.accounts.api_base import PatientDataView, request_user
from apps.accounts.models import Patient, User, normalise_email
from apps.accounts.tasks import enqueue_after_commit, password_reset_send, send_account_email
from backend.audit import audit_record
from backend.roles import Role
from backend.serializers import StrictSerializer, validated
from backend.throttles import ResilientScopedRateThrottle


def email_throttle_ident(email: str) -> str:
    """The count's key for an email asked about (hashed: no addresses in the cache), shared with the console's reset
    page (apps/console/password_views.py)."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


class EmailAddressThrottle(ResilientScopedRateThrottle):
    """Counts per email address asked about (hashed; whether or not it has an account), under the view's
    `email_throttle_scope`: someone cannot flood one person's inbox from many addresses."""

    scope_attr = "email_throttle_scope"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        raw = request.data.get("email") if isinstance(request.data, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            return None  # nothing to count: the input is refused anyway
        ident = email_throttle_ident(raw)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RedeemInput(StrictSerializer):
    token = serializers.CharField(
        max_length=200, required=False, help_text="The token from the email's link (after `#token=`)."
    )
    email = serializers.EmailField(max_length=254, required=False, help_text="With `code`, instead of `token`.")
    code = serializers.CharField(
        max_length=20, required=False, help_text="The 8-character code from the email (case, spaces, dash ignored)."
    )
    new_password = serializers.CharField(
        max_length=128, write_only=True, trim_whitespace=False, help_text="Checked by the password rules."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("token"):
            if attrs.get("email") or attrs.get("code"):
                raise serializers.ValidationError("Send either `token`, or `email` and `code`.")
        elif not (attrs.get("email") and attrs.get("code")):
            raise serializers.ValidationError("Send either `token`, or `email` and `code`.")
        return attrs


def _redeem(request: Request, purpose: str) -> User:
    values = validated(RedeemInput, request.data)
    try:
        return account_tokens.account_token_redeem(
            purpose=purpose,
            password=values["new_password"],
            token=values.get("token", ""),
            email=values.get("email", ""),
            code=values.get("code", ""),
        )
    except NotRedeemableError as exc:
        raise serializers.ValidationError(NOT_VALID) from exc
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"new_password": exc.message_dict.get("password", exc.messages)}) from exc


def _patient_ids(user: User) -> list[Any]:
    return [Patient.objects.filter(user=user).values_list("id", flat=True).first()]


class InvitationAcceptView(APIView):
    """She chooses her first password with her invitation's link token, or her email and its short code, and is
    signed in (the same token pair as sign-in). A token or code that is wrong, used, expired or revoked, or an email
    without a live invitation, all get one and the same 400; a password the rules refuse is a 400 on `new_password`
    (the invitation stays usable). Five wrong codes disable its code; the link keeps working
    (ACCOUNT_CODE_MAX_FAILURES)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ResilientScopedRateThrottle]
    throttle_scope = "account_code"

    @extend_schema(
        request=RedeemInput,
        responses={200: TokenPairSerializer},
        summary="Accept an invitation: set her first password and sign in",
    )
    def post(self, request: Request) -> Response:
        user = _redeem(request, Purpose.INVITATION)
        patient_ids = _patient_ids(user)
        audit_record(actor=user, action="update", resource="invitation", patient_ids=patient_ids, request=request)
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


class PasswordResetView(APIView):
    """Ask for a reset email. Always the same 202, whether or not the email has an active account; the lookup and the
    email happen in the worker, so the answer's timing says nothing either. Inactive accounts get no email."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ResilientScopedRateThrottle, EmailAddressThrottle]
    throttle_scope = "password_reset"
    email_throttle_scope = "password_reset_email"

    class Input(StrictSerializer):
        email = serializers.EmailField(max_length=254)

    class Output(serializers.Serializer[Any]):
        detail = serializers.CharField()

    ACCEPTED = gettext_lazy(
        "If this email belongs to a BoneSync account, a message with a link and a code is on its way."
    )

    @extend_schema(request=Input, responses={202: Output}, summary="Ask for a password reset email (any role)")
    def post(self, request: Request) -> Response:
        values = validated(self.Input, request.data)
        enqueue_after_commit(password_reset_send, normalise_email(values["email"]))
        return Response({"detail": str(self.ACCEPTED)}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    """Set a new password with the reset email's link token, or the email and its short code. Every refresh token of
    the account stops working and its console sessions end; staff still need their second factor to sign in again
    (a reset never turns it off), so this answers 204 and the app signs in as usual. Bad tokens and codes: one 400,
    as for invitations."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ResilientScopedRateThrottle]
    throttle_scope = "account_code"

    @extend_schema(
        request=RedeemInput,
        responses={204: None},
        summary="Set a new password with a reset link or code",
    )
    def post(self, request: Request) -> Response:
        user = _redeem(request, Purpose.PASSWORD_RESET)
        audit_record(
            actor=user,
            action="update",
            resource="password",
            patient_ids=_patient_ids(user),
            object_id=user.pk,
            request=request,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationStatusOutput(serializers.Serializer[Any]):
    state = serializers.ChoiceField(
        choices=["pending", "expired", "accepted", "revoked"],
        help_text="pending: sent (or about to be) and not used; expired: past expires_at unused; accepted: she set "
        "her password with it; revoked: replaced by a newer one, or her password was set another way.",
    )
    sent_at = serializers.DateTimeField(allow_null=True, help_text="When the email went out; null until it has.")
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)


class InvitationResendView(PatientDataView):
    """A new invitation for a patient who has not set her password: the previous link and code stop working. Her
    coordinators and admins; 400 once she has a password."""

    audit_resource = "invitation"
    roles_by_method = {"POST": (Role.COORDINATOR, Role.ADMIN)}

    @extend_schema(request=None, responses={202: InvitationStatusOutput}, summary="Resend her invitation (staff)")
    def post(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        row = account_tokens.invitation_resend(user=patient.user, actor=request_user(request))
        enqueue_after_commit(send_account_email, str(row.pk))
        self.audit_object(row.pk)
        status_now = account_tokens.invitation_status(patient.user)
        return Response(InvitationStatusOutput(status_now).data, status=status.HTTP_202_ACCEPTED)
