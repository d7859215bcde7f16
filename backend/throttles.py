"""Rate limits that fail open when their store (Redis) is unreachable."""

import logging
from typing import Any, cast

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend

log = logging.getLogger(__name__)


class ResilientScopedRateThrottle(ScopedRateThrottle):
    """`ScopedRateThrottle`, except that a cache outage lets the request through (and says so in the log): during a
    Redis outage patients must still be able to sign in and record doses; the throttle resumes with the cache."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            log.warning("throttle store unreachable, request allowed: %s", exc)
            return True


class RefreshTokenAccountThrottle(ResilientScopedRateThrottle):
    """Counts per account: the user id of the posted refresh token (signature and expiry checked, no database), so
    an app's refreshes are neither spent by others behind the same address nor by anyone's wrong passwords. A token
    that does not verify counts against the client address instead (it gets a 401 anyway)."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        raw = request.data.get("refresh") if isinstance(request.data, dict) else None
        user_id = None
        if isinstance(raw, str):
            try:
                user_id = token_backend.decode(cast(Any, raw), verify=True).get(jwt_settings.USER_ID_CLAIM)
            except TokenBackendError:
                user_id = None
        ident = f"user-{user_id}" if user_id else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
