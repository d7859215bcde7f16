"""The account emails (invitation, password reset): plain text, through Django's email backend (EMAIL_URL).

They say nothing about her health: no diagnosis, no medicine, only BoneSync and her organisation's name. The texts
are marked for translation. A patient's link carries the one-time token in its fragment (never sent to a server);
staff's reset links open the console."""

from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from apps.accounts.account_tokens import Purpose, Secrets
from apps.accounts.models import AccountToken
from backend.roles import Role

LINK_PATHS = {Purpose.INVITATION: "invitation", Purpose.PASSWORD_RESET: "reset-password"}


def account_link(purpose: str, token: str, role: str = Role.PATIENT) -> str:
    """Patients open the app (the token in the fragment); staff reset in the console, whose link page keeps the
    token in the session and redirects to a URL without it (apps/console/password_views.py)."""
    if purpose == Purpose.PASSWORD_RESET and role != Role.PATIENT:
        return f"{settings.BONESYNC_CONSOLE_URL}/password-reset/{quote(token, safe='')}/"
    return f"{settings.BONESYNC_APP_URL}/{LINK_PATHS[Purpose(purpose)]}#token={quote(token)}"


def display_code(code: str) -> str:
    """ABCD-EFGH: easier to read out and type; the dash is ignored when she enters it."""
    return f"{code[:4]}-{code[4:]}"


def account_email(row: AccountToken, found: Secrets) -> EmailMessage:
    user = row.user
    context = {
        "name": user.full_name,
        "organisation": user.organisation.name if user.organisation else "BoneSync",
        "link": account_link(row.purpose, found.token, user.role),
        "code": display_code(found.code),
        "hours": settings.INVITATION_TTL_HOURS,
        "minutes": settings.PASSWORD_RESET_TTL_MINUTES,
    }
    name = "invitation" if row.purpose == Purpose.INVITATION else "password_reset"
    # Another part of issue 17 gives the patient a language; until then, the site's.
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"accounts/email/{name}_subject.txt", context).split())
        body = render_to_string(f"accounts/email/{name}.txt", context).strip() + "\n"
    return EmailMessage(subject=subject, body=body, to=[user.email])
