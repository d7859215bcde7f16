"""Writes for accounts: organisations, users, care-team assignments, refresh-token revocation, sign-out."""

import uuid

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from apps.accounts.models import CareTeamAssignment, Organisation, Patient, User, normalise_email
from backend.events import SignedOut, publish
from backend.roles import STAFF_ROLES, Role


def organisation_create(*, name: str) -> Organisation:
    name = name.strip()
    if Organisation.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": ["An organisation with this name already exists."]})
    return Organisation.objects.create(name=name)


EMAIL_TAKEN = "A user with this email already exists."
EMAIL_TAKEN_HERE = "A user with this email already exists in your organisation."
# Said for an account outside the caller's organisation (or of no organisation: an admin): whether someone uses
# BoneSync elsewhere is health information, so nothing here says an account exists, where, or of what kind.
EMAIL_NOT_USABLE = "This email cannot be used for a new patient here; ask an administrator."


def email_taken_error(email: str, *, actor: User | None) -> ValidationError:
    """The refusal for an email that has an account, worded for what `actor` may know: an admin (or a command,
    `actor=None`) is told it exists; staff only when the account is in their own organisation, else the generic
    EMAIL_NOT_USABLE. Both staff answers cost the same single query, so their timing says nothing either."""
    if actor is None or actor.role == Role.ADMIN:
        return ValidationError({"email": [EMAIL_TAKEN]})
    holder = User.objects.filter(email=email).values_list("organisation_id", flat=True).first()
    same_org = holder is not None and holder == actor.organisation_id
    return ValidationError({"email": [EMAIL_TAKEN_HERE if same_org else EMAIL_NOT_USABLE]})


def user_create(
    *,
    email: str,
    password: str | None,
    role: Role,
    organisation: Organisation | None,
    full_name: str = "",
    actor: User | None = None,
) -> User:
    """Create a login. Validates the password is strong enough (Django validators) and then that the email is free
    (in that order, so a weak password is refused the same way whether or not the email has an account); the
    refusal of a taken email is worded for `actor` (email_taken_error). With `password=None` the account has no
    usable password until she sets one (an invitation, apps/accounts/account_tokens.py)."""
    email = normalise_email(email)
    if role != Role.ADMIN and organisation is None:
        raise ValidationError({"organisation": ["This role belongs to an organisation."]})
    user = User(email=email, role=role, organisation=organisation, full_name=full_name.strip())
    if password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
    if User.objects.filter(email=email).exists():
        raise email_taken_error(email, actor=actor)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            user.__dict__.pop("_password_removed", None)  # a new account's: no password change to announce later
    except IntegrityError as exc:  # a concurrent sign-up with the same email
        raise email_taken_error(email, actor=actor) from exc
    return user


@transaction.atomic
def staff_create(
    *,
    email: str,
    password: str,
    role: Role,
    organisation: Organisation,
    full_name: str = "",
    actor: User | None = None,
) -> User:
    if role not in STAFF_ROLES:
        raise ValidationError({"role": ["Staff are coordinators or pharmacists."]})
    return user_create(
        email=email, password=password, role=role, organisation=organisation, full_name=full_name, actor=actor
    )


def _check_assignable(*, actor: User, patient: Patient, staff: User) -> None:
    if staff.role not in STAFF_ROLES or not staff.is_active:
        raise ValidationError({"staff": ["Only active coordinators and pharmacists join a care team."]})
    if staff.organisation_id != patient.organisation_id:
        raise ValidationError({"staff": ["Staff and patient must belong to the same organisation."]})
    if actor.role != Role.ADMIN and actor.organisation_id != patient.organisation_id:
        raise ValidationError({"patient": ["Not found."]})


NOT_YOURS_TO_CHANGE = (
    "Only an administrator adds or removes other staff on a care team; a coordinator may add or remove only herself."
)
LAST_COORDINATOR = "This is the patient's only coordinator: assign another coordinator first."


def _check_may_change(*, actor: User, staff: User) -> None:
    """Who changes a care team: an admin anyone; a coordinator only herself (a self-assignment is written to the
    audit log and shows in the care-team list of every coordinator already assigned, `self_assigned`)."""
    if actor.role == Role.ADMIN:
        return
    if actor.role == Role.COORDINATOR and staff.pk == actor.pk:
        return
    raise PermissionDenied(NOT_YOURS_TO_CHANGE)


@transaction.atomic
def care_team_assign(*, actor: User, patient: Patient, staff: User) -> tuple[CareTeamAssignment, bool]:
    """Idempotent: assigning twice returns the existing assignment (created=False)."""
    _check_assignable(actor=actor, patient=patient, staff=staff)
    _check_may_change(actor=actor, staff=staff)
    assignment, created = CareTeamAssignment.objects.get_or_create(
        patient=patient, staff=staff, defaults={"assigned_by": actor}
    )
    return assignment, created


@transaction.atomic
def care_team_unassign(*, actor: User, patient: Patient, staff: User) -> bool:
    """Returns whether an assignment was removed. The last coordinator of a patient stays (her alerts would reach
    nobody); two removals racing for the last two are serialised on the patient's row."""
    _check_assignable(actor=actor, patient=patient, staff=staff)
    _check_may_change(actor=actor, staff=staff)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    team = CareTeamAssignment.objects.filter(patient=patient)
    if not team.filter(staff=staff).exists():
        return False
    if staff.role == Role.COORDINATOR and not team.filter(staff__role=Role.COORDINATOR).exclude(staff=staff).exists():
        raise ValidationError({"staff": [LAST_COORDINATOR]})
    team.filter(staff=staff).delete()
    return True


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


def refresh_tokens_revoke(*, user_id: uuid.UUID) -> int:
    """Every refresh token of this account stops working (its password changed); its apps sign in again. Answers
    how many were still live."""
    live = OutstandingToken.objects.filter(user_id=user_id, blacklistedtoken__isnull=True)
    return len(BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True))


@transaction.atomic
def sign_out(*, token: RefreshToken, device_id: str = "") -> None:
    """Revoke this refresh token. With the app installation's `device_id`, SignedOut is announced in the same
    transaction: that installation's push devices go with it, or nothing is done and the app can try again."""
    token.blacklist()
    if device_id:
        publish(SignedOut(user_id=uuid.UUID(str(token[jwt_settings.USER_ID_CLAIM])), device_id=device_id))
