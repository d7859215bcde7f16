"""The one authentication backend: Django's email-and-password check behind the sign-in limits, so every door that
calls `authenticate()` (API token, console, Django admin, `Client.login`) is limited the same way."""

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from apps.accounts import signin_limits
from apps.accounts.models import User


class LimitedModelBackend(ModelBackend):
    """A locked account or address is refused with `SignInLocked` (a 429) before its password is checked; a failed
    check (unknown email, wrong password, deactivated account) counts against both."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = str(username if username is not None else kwargs.get(User.USERNAME_FIELD) or "")
        if not email or password is None:
            return None
        wait = signin_limits.locked_for(request, email)
        if wait is not None:
            raise signin_limits.SignInLocked(wait=wait)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            signin_limits.record_failure(request, email)
        return user

    async def aauthenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)
