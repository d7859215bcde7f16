"""Her own account (issue 17 part 6): invitations to set a first password, and password resets, by email.

The flow, for both purposes (AccountToken.Purpose):

1. A row is created in the request's transaction (`invitation_create`, `invitation_resend`) or by the worker
   (`password_reset_send`, so a reset request costs the same whether or not the email has an account). Creating one
   revokes the account's previous live row of that purpose.
2. After commit, the worker (`tasks.account_email_send`) makes the secrets, stores their hashes, sends the email
   and marks the row sent (`account_token_send`). A rolled-back enrolment sends nothing.
3. She proves she holds the email with the link's token, or with her email and the short code, and sets a password
   (`account_token_redeem`): the row is used, every other live row of hers revoked, her refresh tokens revoked
   (User.save publishes PasswordChanged), and her console sessions end (Django's session hash follows the password).

Wrong short codes count on the row: the ACCOUNT_CODE_MAX_FAILURES-th disables its code (its link still works).
Every refusal (unknown email, no live row, expired, used, revoked, wrong token or code) is one and the same answer.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy

from apps.accounts.models import AccountToken, User, normalise_email
from backend import clock
from backend.roles import Role

Purpose = AccountToken.Purpose

# Short codes: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), 31^8 ~ 8.5e11 values; typed in
# the app beside her email, and only a few wrong tries per code (ACCOUNT_CODE_MAX_FAILURES) before it dies.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8

# Shown to her by the app: marked for translation.
NOT_VALID = gettext_lazy("This link or code is not valid any more. Ask for a new one.")
ALREADY_SET = "She has already set her password: there is no invitation to resend."
INACTIVE = "This account is deactivated."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_hash(row_id: object, code: str) -> str:
    # Keyed (SECRET_KEY) and bound to the row: a leaked table does not give the codes away by brute force.
    return salted_hmac("bonesync.account-code", f"{row_id}:{code}").hexdigest()


def normalise_code(code: str) -> str:
    """What she typed, as stored: case, spaces and dashes ignored ("abcd-efgh" is "ABCDEFGH")."""
    return "".join(ch for ch in code.upper() if ch not in " -")


def _lifetime(purpose: str) -> timedelta:
    if purpose == Purpose.INVITATION:
        return timedelta(hours=settings.INVITATION_TTL_HOURS)
    return timedelta(minutes=settings.PASSWORD_RESET_TTL_MINUTES)


def _live(user: User, purpose: str) -> QuerySet[AccountToken]:
    return AccountToken.objects.filter(user=user, purpose=purpose, used_at__isnull=True, revoked_at__isnull=True)


def _issue(*, user: User, purpose: str, actor: User | None) -> AccountToken:
    """A new live row for `user`, revoking the previous one. The account's row is locked, so two at once queue."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    now = clock.now()
    _live(user, purpose).update(revoked_at=now)
    return AccountToken.objects.create(
        user=user, purpose=purpose, expires_at=now + _lifetime(purpose), created_by=actor
    )


# --- invitations -----------------------------------------------------------------------------------------------
def invitation_create(*, user: User, actor: User | None) -> AccountToken:
    """The invitation of a patient enrolled without a password; the caller sends it after commit (`tasks`)."""
    return _issue(user=user, purpose=Purpose.INVITATION, actor=actor)


@transaction.atomic
def invitation_resend(*, user: User, actor: User) -> AccountToken:
    """A new invitation (the previous link and code stop working). Refused once she has a password of her own."""
    if user.has_usable_password():
        raise ValidationError({"invitation": [ALREADY_SET]})
    if not user.is_active:
        raise ValidationError({"invitation": [INACTIVE]})
    return _issue(user=user, purpose=Purpose.INVITATION, actor=actor)


InvitationState = Literal["pending", "expired", "accepted", "revoked"]


@dataclass(frozen=True)
class InvitationStatus:
    state: InvitationState
    sent_at: datetime | None
    expires_at: datetime
    accepted_at: datetime | None


def invitation_status(user: User) -> InvitationStatus | None:
    """Her latest invitation as staff see it; None when she never had one (staff set her password)."""
    row = AccountToken.objects.filter(user=user, purpose=Purpose.INVITATION).order_by("-created_at").first()
    if row is None:
        return None
    state: InvitationState
    if row.used_at is not None:
        state = "accepted"
    elif row.revoked_at is not None:
        state = "revoked"  # too many wrong codes, or her password was set another way (a reset)
    elif row.expires_at <= clock.now():
        state = "expired"
    else:
        state = "pending"
    return InvitationStatus(state=state, sent_at=row.sent_at, expires_at=row.expires_at, accepted_at=row.used_at)


# --- password reset --------------------------------------------------------------------------------------------
def password_reset_issue(email: str) -> AccountToken | None:
    """The worker's half of a reset request: a row for an active account with this email, or None (nobody is told)."""
    user = User.objects.filter(email=normalise_email(email), is_active=True).first()
    if user is None:
        return None
    with transaction.atomic():
        return _issue(user=user, purpose=Purpose.PASSWORD_RESET, actor=None)


# --- sending ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Secrets:
    token: str
    code: str


def account_token_send(row_id: UUID | str) -> tuple[AccountToken, Secrets] | None:
    """Claim the row for sending (once: `sent_at`), make its secrets and store their hashes; None when it was sent
    already or is no longer live (revoked, used, expired, its account deactivated): nothing to send. The expiry runs
    from now, when the email goes out. If the email then fails, `account_token_unsend` gives the claim back."""
    with transaction.atomic():
        row = (
            AccountToken.objects.select_for_update(of=("self",))
            .select_related("user", "user__organisation")
            .filter(pk=row_id, used_at__isnull=True, revoked_at__isnull=True, sent_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active or row.expires_at <= clock.now():
            return None
        found = Secrets(
            token=secrets.token_urlsafe(32),
            code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
        )
        now = clock.now()
        row.token_hash = token_hash(found.token)
        row.code_hash = code_hash(row.pk, found.code)
        row.sent_at = now
        row.expires_at = now + _lifetime(row.purpose)
        row.save(update_fields=["token_hash", "code_hash", "sent_at", "expires_at", "updated_at"])
    return row, found


def account_tokens_unsent(*, older_than: timedelta) -> list[UUID]:
    """Live rows whose email has not gone out `older_than` after they were made (a lost message, a mail server that
    kept failing): the periodic sweep sends them."""
    now = clock.now()
    return list(
        AccountToken.objects.filter(
            sent_at__isnull=True,
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
            created_at__lte=now - older_than,
        ).values_list("pk", flat=True)[:500]
    )


def account_token_unsend(row_id: UUID | str) -> None:
    """The email did not go out: the row can be sent again (its secrets, which nobody received, are dropped)."""
    AccountToken.objects.filter(pk=row_id, used_at__isnull=True).update(sent_at=None, token_hash="", code_hash="")


# --- redeeming -------------------------------------------------------------------------------------------------
def account_tokens_revoke(*, user_id: UUID) -> int:
    """Revoke every live invitation and reset of the account (her password was set): returns how many."""
    return AccountToken.objects.filter(user_id=user_id, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )


class NotRedeemableError(Exception):
    """The one refusal of a token or code: nothing says which part was wrong."""


def _find_by_token(purpose: str, token: str) -> AccountToken | None:
    if not token:
        return None
    return (
        AccountToken.objects.select_for_update()
        .filter(purpose=purpose, token_hash=token_hash(token), used_at__isnull=True, revoked_at__isnull=True)
        .exclude(token_hash="")
        .first()
    )


def _find_by_code(purpose: str, email: str, code: str) -> AccountToken | None:
    """The live row of this email's account if `code` is its code. A wrong code counts against the row, and the
    ACCOUNT_CODE_MAX_FAILURES-th disables its code (the link still works); committed although the request is
    refused."""
    row = (
        AccountToken.objects.select_for_update()
        .filter(
            purpose=purpose,
            user__email=normalise_email(email),
            used_at__isnull=True,
            revoked_at__isnull=True,
        )
        .exclude(code_hash="")
        .first()
    )
    if row is None:
        return None
    if hmac.compare_digest(row.code_hash, code_hash(row.pk, normalise_code(code))):
        return row
    row.failed_codes += 1
    if row.failed_codes >= settings.ACCOUNT_CODE_MAX_FAILURES:
        # The code dies, not the row: anyone who knows her email can type wrong codes, and must not be able to kill
        # the link in her mailbox (review). A resend gives her a new code.
        row.code_hash = ""
    row.save(update_fields=["failed_codes", "code_hash", "updated_at"])
    return None


def account_token_redeem(*, purpose: str, password: str, token: str = "", email: str = "", code: str = "") -> User:
    """Set her password with a live token (or email + code) of `purpose`. Raises NotRedeemableError for any bad
    token or code, and ValidationError({"password": ...}) for a password Django's validators refuse (the token
    stays live: she can choose another)."""
    with transaction.atomic():  # a wrong code's count is kept: this block commits before the refusal is raised
        row = _find_by_token(purpose, token) if token else _find_by_code(purpose, email, code)
    if row is None:
        raise NotRedeemableError
    with transaction.atomic():
        row = AccountToken.objects.select_for_update(of=("self",)).select_related("user").get(pk=row.pk)
        user = row.user
        live = row.used_at is None and row.revoked_at is None and row.expires_at > clock.now()
        if not live or not user.is_active:
            raise NotRedeemableError
        if purpose == Purpose.INVITATION and (user.role != Role.PATIENT or user.has_usable_password()):
            raise NotRedeemableError
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        row.used_at = clock.now()
        row.save(update_fields=["used_at", "updated_at"])
        user.set_password(password)
        # Publishes PasswordChanged: her refresh tokens and every other live invitation or reset are revoked
        # (apps.accounts.receivers), as for a password set any other way.
        user.save(update_fields=["password"])
    return user
