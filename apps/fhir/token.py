"""The SMART Backend Services token endpoint and the server's SMART configuration (SMART App Launch 2.x, "Backend
Services" and "Client Authentication: Asymmetric").

A registered system posts `grant_type=client_credentials`, the scopes it wants (system reads) and a client
assertion: a JWT it signed (RS384 or ES384) with one of its registered keys (`kid`), claiming iss = sub = its
client id, aud = this endpoint's URL, exp at most five minutes ahead and a `jti` never used before. It gets a
random access token for its organisation, valid FHIR_ACCESS_TOKEN_SECONDS.

Errors are OAuth 2.0's (RFC 6749 §5.2): `invalid_client` (401) for anything wrong with the assertion or the
client, `invalid_request`, `unsupported_grant_type` or `invalid_scope` (400) for the rest.

JOSE is PyJWT (with `cryptography`), already a dependency through djangorestframework-simplejwt: a well-kept
library that verifies RS384/ES384 signatures and the registered claims; no hand-written crypto, nothing new to
install.
"""

import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.fhir.auth import hash_token, is_write_scope, parse_scopes
from apps.fhir.models import ASSERTION_ALGORITHMS, FhirAccessToken, FhirAssertionUse, FhirClient
from apps.fhir.token_limits import TokenRateLimitError, check_address, check_client

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# SMART: the assertion's exp is "no more than five minutes in the future".
MAX_ASSERTION_SECONDS = 300
SCOPES_SUPPORTED = ["system/*.read", "system/*.rs"]
SCOPES_SUPPORTED += ["system/Observation.write", "system/Observation.c"]  # issue 16, import: --allow-write clients


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


CLIENT_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # apps.fhir.models.new_client_id: token_urlsafe


def _client_error(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


def token_endpoint_url(request: HttpRequest) -> str:
    """The URL a client assertion's `aud` must name: FHIR_TOKEN_URL when set (behind a proxy that rewrites hosts),
    else this server's own."""
    return settings.FHIR_TOKEN_URL or request.build_absolute_uri(reverse("fhir-smart-token"))


def _oauth_response(body: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    # RFC 6749 §5.1: token responses are never cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fhir", error="invalid_client"'
    return response


def _authenticate_client(assertion: str, audience: str, claimed_client_id: str) -> tuple[FhirClient, dict[str, Any]]:
    """The active client that signed `assertion`, and its verified claims; OAuthError otherwise."""
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _client_error("The client assertion is not a well-formed JWT.") from exc
    alg = header.get("alg")
    if alg not in ASSERTION_ALGORITHMS:
        raise _client_error(f"The client assertion must be signed with {' or '.join(ASSERTION_ALGORITHMS)}.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _client_error('The client assertion has no "kid" header.')
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or not client_id or unverified.get("sub") != client_id:
        raise _client_error("The client assertion's iss and sub must both be the client id.")
    if not CLIENT_ID_SHAPE.fullmatch(client_id):  # ours are token_urlsafe; anything else (a NUL...) names no client
        raise _client_error("Unknown or disabled client.")
    if claimed_client_id and claimed_client_id != client_id:
        raise _client_error("client_id does not match the client assertion.")
    client = FhirClient.objects.filter(client_id=client_id, is_active=True).first()
    if client is None:
        raise _client_error("Unknown or disabled client.")
    jwk = client.jwk(kid)
    if jwk is None:
        raise _client_error(f"No key {kid!r} is registered for this client.")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise _client_error(f"The key {kid!r} cannot verify {alg}.") from exc
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion,
            key=key,
            algorithms=[alg],  # only the one the key is for: no `none`, no HS256 with a public key as the secret
            audience=audience,
            issuer=client_id,
            options={"require": ["iss", "sub", "aud", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _client_error("The client assertion has expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise _client_error(f"The client assertion's aud must be {audience}.") from exc
    except jwt.InvalidSignatureError as exc:
        raise _client_error("The client assertion's signature does not verify.") from exc
    except jwt.PyJWTError as exc:
        raise _client_error(f"The client assertion is invalid: {exc}") from exc
    exp = claims["exp"]
    if not isinstance(exp, int | float) or exp - timezone.now().timestamp() > MAX_ASSERTION_SECONDS:
        raise _client_error("The client assertion's exp is more than five minutes ahead.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > 255 or "\x00" in jti:  # PostgreSQL text holds no NUL
        raise _client_error("The client assertion's jti must be a string of 1 to 255 characters.")
    return client, claims


def _spend_jti(client: FhirClient, claims: dict[str, Any]) -> None:
    """Record the assertion's jti until it expires; a second use (even concurrent) hits the unique constraint."""
    expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
    try:
        with transaction.atomic():
            FhirAssertionUse.objects.create(client=client, jti=claims["jti"], expires_at=expires_at)
    except IntegrityError as exc:
        raise _client_error("This client assertion (jti) has already been used.") from exc


@csrf_exempt  # a machine-to-machine endpoint: the client authenticates with its signed assertion, no cookie
@require_POST
def token_view(request: HttpRequest) -> JsonResponse:
    try:
        check_address(request)  # token_limits: per address first, per client once its assertion verifies
        data = request.POST
        if request.content_type != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "The token request is application/x-www-form-urlencoded.")
        grant_type = data.get("grant_type", "")
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is missing.")
        if grant_type != "client_credentials":
            raise OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported.")
        if data.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
        assertion = data.get("client_assertion", "")
        if not assertion:
            raise OAuthError("invalid_request", "client_assertion is missing.")
        raw_scope = data.get("scope", "")
        if not raw_scope.strip():
            raise OAuthError("invalid_request", "scope is missing (e.g. system/*.read).")
        client, claims = _authenticate_client(assertion, token_endpoint_url(request), data.get("client_id", ""))
        check_client(request, client.client_id)
        _spend_jti(client, claims)
        scopes = parse_scopes(raw_scope)
        if not scopes:
            raise OAuthError(
                "invalid_scope", "Only system read scopes are granted: system/*.read, system/<Type>.read or .rs."
            )
        # Issue 16 (Observation import): write scopes only for a client registered with allow_write.
        if not client.allow_write and any(is_write_scope(scope) for scope in scopes):
            raise OAuthError("invalid_scope", "This client is registered read-only: write scopes are not granted.")
        lifetime = settings.FHIR_ACCESS_TOKEN_SECONDS
        token = secrets.token_urlsafe(32)
        FhirAccessToken.objects.create(
            token_hash=hash_token(token),
            client=client,
            organisation_id=client.organisation_id,
            scopes=" ".join(scopes),
            expires_at=timezone.now() + timedelta(seconds=lifetime),
        )
    except TokenRateLimitError as exc:
        log.warning("SMART token request refused: %s", exc)
        return exc.response()
    except OAuthError as exc:
        log.info("SMART token request refused: %s (%s)", exc.error, exc.description)
        return _oauth_response({"error": exc.error, "error_description": exc.description}, exc.status)
    return _oauth_response(
        {"access_token": token, "token_type": "bearer", "expires_in": lifetime, "scope": " ".join(scopes)}
    )


@require_GET
def smart_configuration_view(request: HttpRequest) -> JsonResponse:
    """`.well-known/smart-configuration`: how a backend system gets a token here."""
    return JsonResponse(
        {
            "token_endpoint": token_endpoint_url(request),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "scopes_supported": SCOPES_SUPPORTED,
            "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        }
    )
