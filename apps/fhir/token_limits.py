"""Rate limits on the SMART token endpoint (apps.fhir.token): per client address and per client, with the API's
throttle (DRF's scoped throttle over the cache, failing open when Redis is down: backend.throttles) and the sign-in
limits' address (apps.accounts.signin_limits.client_address: TRUSTED_PROXY_COUNT decides what X-Forwarded-For
counts).

- Per address, FHIR_TOKEN_ADDRESS_RATE (60/minute): every POST counts, checked before anything is parsed or looked
  up, so a flood of junk costs no database work.
- Per client, FHIR_TOKEN_CLIENT_RATE (30/minute): counted once the assertion has verified (signature, audience,
  expiry), before its `jti` is spent and a token issued. Counting the `iss` a request merely claims would let
  anyone spend a real client's budget with unsigned junk; this way only the holder of its private key can.

Beyond either: 429 (RFC 6585) with Retry-After and an OAuth error body. RFC 6749 §5.2 has no rate-limit error code
(`slow_down` is RFC 8628's, for device-code polling), so the body says `invalid_request` and the description why.
"""

from math import ceil
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from apps.accounts.signin_limits import client_address
from backend.throttles import ResilientScopedRateThrottle


class _Scope:
    def __init__(self, scope: str) -> None:
        self.throttle_scope = scope


class _TokenThrottle(ResilientScopedRateThrottle):
    """A scoped throttle whose rate is a Django setting (changed per deployment, and in tests) and whose key is
    given: an address or a client id, never a session user."""

    def __init__(self, setting: str, ident: str) -> None:
        super().__init__()
        self.setting = setting
        self.ident = ident

    def get_rate(self) -> str | None:
        return cast(str | None, getattr(settings, self.setting) or None)  # empty: no limit

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}


class TokenRateLimitError(Exception):
    def __init__(self, seconds: int, who: str) -> None:
        super().__init__(f"Too many token requests from this {who}; retry after {seconds} seconds.")
        self.seconds = seconds

    def response(self) -> JsonResponse:
        """429 with Retry-After, the OAuth error body, never cached (like every token response, RFC 6749 §5.1)."""
        response = JsonResponse({"error": "invalid_request", "error_description": str(self)}, status=429)
        response["Retry-After"] = str(self.seconds)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response


def _check(request: HttpRequest, scope: str, setting: str, ident: str, who: str) -> None:
    throttle = _TokenThrottle(setting, ident)
    # DRF's throttle reads only the request's META (through get_cache_key, here not even that) and the view's scope.
    if not throttle.allow_request(cast(Any, request), cast(Any, _Scope(scope))):
        raise TokenRateLimitError(ceil(throttle.wait() or 60), who)


def check_address(request: HttpRequest) -> None:
    """TokenRateLimitError beyond FHIR_TOKEN_ADDRESS_RATE token requests from this client address."""
    _check(request, "fhir_token_address", "FHIR_TOKEN_ADDRESS_RATE", client_address(request), "address")


def check_client(request: HttpRequest, client_id: str) -> None:
    """TokenRateLimitError beyond FHIR_TOKEN_CLIENT_RATE authenticated token requests from this client."""
    _check(request, "fhir_token_client", "FHIR_TOKEN_CLIENT_RATE", client_id, "client")
