"""The console's "Forgot your password?" pages (issue 17): staff ask for a reset email, follow its link and choose a
new password. The same reset as the API's (apps/accounts/account_tokens.py): one live reset per account, single use,
PASSWORD_RESET_TTL_MINUTES, the same throttles; the answer to a request never says whether the email has an account.

The link carries the token in its path (`/console/password-reset/<token>/`); that page keeps it in the session and
redirects to a page without it, so the token never stays in the address bar, the history or a Referer (Django's own
PasswordResetConfirmView does the same). A reset never turns the second factor off.
"""

import math
from types import SimpleNamespace
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from apps.accounts.account_tokens import NotRedeemableError, Purpose, account_token_redeem
from apps.accounts.api_account import email_throttle_ident
from apps.accounts.models import normalise_email
from apps.accounts.tasks import enqueue_after_commit, password_reset_send
from apps.console.views import page
from backend.audit import audit_record
from backend.throttles import ResilientScopedRateThrottle

SESSION_KEY = "console_password_reset_token"


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label="Your email", max_length=254)


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label="New password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )
    repeat = forms.CharField(
        label="The same again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False
    )

    def clean(self) -> dict[str, Any]:
        values = super().clean() or {}
        if values.get("new_password") and values.get("new_password") != values.get("repeat"):
            self.add_error("repeat", "The two passwords differ.")
        return values


class _Throttle(ResilientScopedRateThrottle):
    """The API's throttle for a scope, counted per client address, or per `ident` (an email's hash, as the API's
    EmailAddressThrottle counts it): the console and the API share each count."""

    def __init__(self, ident: str | None = None) -> None:
        super().__init__()
        self.ident = ident

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.ident or self.get_ident(request)}


def _wait(request: HttpRequest, scope: str, ident: str | None = None) -> int | None:
    """None when the request may go on, else the seconds to wait."""
    throttle = _Throttle(ident)
    if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):  # type: ignore[arg-type]
        return None
    return math.ceil(throttle.wait() or 1)


def _throttled(request: HttpRequest, seconds: int) -> HttpResponse:
    return page(request, "throttled.html", {"seconds": seconds, "reset": True}, status=429)


@require_http_methods(["GET", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = normalise_email(form.cleaned_data["email"])
        wait = _wait(request, "password_reset") or _wait(request, "password_reset_email", email_throttle_ident(email))
        if wait:
            return _throttled(request, wait)
        enqueue_after_commit(password_reset_send, email)  # the lookup and the email happen in the worker
        return page(request, "password_reset_sent.html", {"minutes": settings.PASSWORD_RESET_TTL_MINUTES})
    return page(request, "password_reset_request.html", {"form": form}, status=400 if form.errors else 200)


def password_reset_link(request: HttpRequest, token: str) -> HttpResponse:
    """The email's link: keep the token in the session, show the form at a URL without it."""
    request.session[SESSION_KEY] = token[:200]
    return HttpResponseRedirect(reverse("console:password_reset_set"))


@require_http_methods(["GET", "POST"])
def password_reset_set(request: HttpRequest) -> HttpResponse:
    token = request.session.get(SESSION_KEY, "")
    if not token:  # opened without a link (or after using it): a page saying so; a post of a form without one is a 400
        return page(request, "password_reset_invalid.html", {}, status=400 if request.method == "POST" else 200)
    form = NewPasswordForm(request.POST or None)
    context = {"form": form, "help": password_validators_help_text_html()}
    if request.method == "POST" and form.is_valid():
        wait = _wait(request, "account_code")
        if wait:
            return _throttled(request, wait)
        try:
            user = account_token_redeem(
                purpose=Purpose.PASSWORD_RESET, password=form.cleaned_data["new_password"], token=token
            )
        except NotRedeemableError:
            request.session.pop(SESSION_KEY, None)
            return page(request, "password_reset_invalid.html", {}, status=400)
        except ValidationError as exc:
            form.add_error("new_password", exc.message_dict.get("password", exc.messages))
        else:
            request.session.pop(SESSION_KEY, None)
            audit_record(
                actor=user, action="update", resource="password", patient_ids=[None], object_id=user.pk, request=request
            )
            return page(request, "password_reset_done.html", {})
    return page(request, "password_reset_set.html", context, status=400 if form.errors else 200)
