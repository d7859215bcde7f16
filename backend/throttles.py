"""Rate limits that fail open when their store (Redis) is unreachable."""

import logging

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

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
