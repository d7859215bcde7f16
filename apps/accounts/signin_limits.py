"""Sign-in limits shared by every door that checks a password: the API's token endpoint, the console and the Django
admin (they all call `authenticate()`, whose first backend is `apps.accounts.backends.LimitedModelBackend`).

- Sign-in attempts per client address: the DRF throttle scope `auth` (AUTH_THROTTLE_RATE), one count for all doors.
- Failed sign-ins per account (the normalised email, whether or not an account has it, so the answer never says
  which emails exist) and per client address, in a sliding window. Beyond either, the door answers 429 with
  Retry-After *before* the password is checked, until the oldest failure in the window has aged out.

The client address is REMOTE_ADDR, or, behind TRUSTED_PROXY_COUNT proxies, the X-Forwarded-For entry the outermost
trusted proxy added (DRF's NUM_PROXIES rule; see `client_address`). A cache (Redis) outage lets sign-in through and
says so in the log, like the throttles (backend/throttles.py).
"""

import hashlib
import logging
import time
from collections.abc import Callable
from functools import wraps
from math import ceil
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from redis.exceptions import RedisError
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from apps.accounts.models import normalise_email
from backend.throttles import ResilientScopedRateThrottle

log = logging.getLogger(__name__)


class SignInLocked(Throttled):
    """Too many failed sign-ins for this account or from this address: a 429 whatever the password."""

    default_detail = "Too many failed sign-in attempts."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


def client_address(request: Any) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = n > 0 the n-th X-Forwarded-For entry from the right (the address
    the outermost trusted proxy saw). With 0 the header is ignored, so a client cannot forge a fresh address."""
    return str(BaseThrottle().get_ident(request) or "")


def _key(kind: str, value: str) -> str:
    # Hashed: no email addresses (or client addresses) in the cache's key space.
    return f"signin-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _window() -> float:
    return float(settings.SIGN_IN_FAILURE_WINDOW_MINUTES * 60)


def _keys(request: Any, email: str) -> list[tuple[str, int]]:
    """(cache key, allowed failures in the window) for this account and, when known, this client address."""
    keys = [(_key("account", normalise_email(email)), settings.SIGN_IN_FAILURES_PER_ACCOUNT)]
    if request is not None:
        address = client_address(request)
        if address:
            keys.append((_key("address", address), settings.SIGN_IN_FAILURES_PER_ADDRESS))
    return keys


def _recent(key: str, now: float) -> list[float]:
    """Failure instants still inside the window, newest first."""
    return [moment for moment in cache.get(key, []) if moment > now - _window()]


def locked_for(request: Any, email: str) -> float | None:
    """Seconds until a sign-in for this email from this request may be checked again, or None if it may be now."""
    now = time.time()
    waits: list[float] = []
    try:
        for key, allowed in _keys(request, email):
            recent = _recent(key, now)
            if len(recent) >= allowed:
                # Free again when the failure that fills the window (the allowed-th newest) ages out of it.
                waits.append(recent[allowed - 1] + _window() - now)
    except (RedisError, OSError) as exc:
        log.warning("sign-in limit store unreachable, sign-in allowed: %s", exc)
        return None
    return max(waits) if waits else None


def record_failure(request: Any, email: str) -> None:
    now = time.time()
    try:
        for key, allowed in _keys(request, email):
            recent = [now, *_recent(key, now)][:allowed]
            cache.set(key, recent, ceil(_window()))
    except (RedisError, OSError) as exc:
        log.warning("sign-in limit store unreachable, failure not counted: %s", exc)


class _SignInScope:
    throttle_scope = "auth"  # the API's sign-in attempts per client address: every door shares one count


def sign_in_limited(
    throttled_page: Callable[[HttpRequest, int], HttpResponse],
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """For Django sign-in views (console, admin): POSTs beyond AUTH_THROTTLE_RATE per address, and any attempt on a
    locked account or address (the backend raises `SignInLocked` before the password is checked), get
    `throttled_page(request, seconds)` with status 429 and Retry-After."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            seconds: int | None = None
            if request.method == "POST":
                throttle = ResilientScopedRateThrottle()
                # DRF's throttle reads only META, user and the view's scope, which a Django request and this class
                # have.
                if not throttle.allow_request(cast(Any, request), cast(Any, _SignInScope())):
                    seconds = ceil(throttle.wait() or 60)
            if seconds is None:
                try:
                    return view(request, *args, **kwargs)
                except SignInLocked as exc:
                    seconds = ceil(getattr(exc, "wait", None) or 60)
            response = throttled_page(request, seconds)
            response.status_code = 429
            response["Retry-After"] = str(seconds)
            return response

        return wrapper

    return decorate
