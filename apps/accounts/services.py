"""Writes for accounts: organisations, users, care-team assignments, refresh-token revocation."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from apps.accounts.models import CareTeamAssignment, Organisation, Patient, User, normalise_email
from backend.roles import STAFF_ROLES, Role


def organisation_create(*, name: str) -> Organisation:
    name = name.strip()
    if Organisation.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": ["An organisation with this name already exists."]})
    return Organisation.objects.create(name=name)


def user_create(
    *,
    email: str,
    password: str,
    role: Role,
    organisation: Organisation | None,
    full_name: str = "",
) -> User:
    """Create a login. Validates the email is free and the password is strong enough (Django validators)."""
    email = normalise_email(email)
    if role != Role.ADMIN and organisation is None:
        raise ValidationError({"organisation": ["This role belongs to an organisation."]})
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": ["A user with this email already exists."]})
    user = User(email=email, role=role, organisation=organisation, full_name=full_name.strip())
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent sign-up with the same email
        raise ValidationError({"email": ["A user with this email already exists."]}) from exc
    return user


@transaction.atomic
def staff_create(*, email: str, password: str, role: Role, organisation: Organisation, full_name: str = "") -> User:
    if role not in STAFF_ROLES:
        raise ValidationError({"role": ["Staff are coordinators or pharmacists."]})
    return user_create(email=email, password=password, role=role, organisation=organisation, full_name=full_name)


def _check_assignable(*, actor: User, patient: Patient, staff: User) -> None:
    if staff.role not in STAFF_ROLES or not staff.is_active:
        raise ValidationError({"staff": ["Only active coordinators and pharmacists join a care team."]})
    if staff.organisation_id != patient.organisation_id:
        raise ValidationError({"staff": ["Staff and patient must belong to the same organisation."]})
    if actor.role != Role.ADMIN and actor.organisation_id != patient.organisation_id:
        raise ValidationError({"patient": ["Not found."]})


@transaction.atomic
def care_team_assign(*, actor: User, patient: Patient, staff: User) -> tuple[CareTeamAssignment, bool]:
    """Idempotent: assigning twice returns the existing assignment (created=False)."""
    _check_assignable(actor=actor, patient=patient, staff=staff)
    assignment, created = CareTeamAssignment.objects.get_or_create(
        patient=patient, staff=staff, defaults={"assigned_by": actor}
    )
    return assignment, created


@transaction.atomic
def care_team_unassign(*, actor: User, patient: Patient, staff: User) -> bool:
    """Returns whether an assignment was removed."""
    _check_assignable(actor=actor, patient=patient, staff=staff)
    deleted, _ = CareTeamAssignment.objects.filter(patient=patient, staff=staff).delete()
    return bool(deleted)


def refresh_token_claim(token: RefreshToken) -> bool:
    """Revoke this refresh token for a rotation. True only for the one caller whose revocation it was: a concurrent
    rotation of the same token waits on the unique blacklist row, then finds it taken (False)."""
    with transaction.atomic():
        outstanding, _ = OutstandingToken.objects.get_or_create(
            jti=token[jwt_settings.JTI_CLAIM],
            defaults={
                "user": User.objects.filter(id=token.get(jwt_settings.USER_ID_CLAIM)).first(),
                "token": str(token),
                "created_at": token.current_time,
                "expires_at": datetime_from_epoch(token["exp"]),
            },
        )
        _, claimed = BlacklistedToken.objects.get_or_create(token=outstanding)
    return claimed


def refresh_tokens_revoke(*, user: User) -> int:
    """Every refresh token of this account stops working (its password changed); its apps sign in again. Answers
    how many were still live."""
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    return len(BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True))
