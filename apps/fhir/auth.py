"""Who calls the FHIR API as a system: the bearer access tokens issued by the SMART token endpoint
(apps/fhir/token.py), and what their scopes allow.

`FhirSystemTokenAuthentication` is used by the FHIR views only; the rest of the API keeps its own authentication
(simplejwt), which refuses these tokens with a 401 since they are not JWTs.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal, cast
from uuid import UUID

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from apps.accounts.models import User
from apps.fhir.models import FhirAccessToken
from backend.access import ScopedUser
from backend.roles import SYSTEM

# SMART scopes this server grants: system-level. v1 `system/<Type>.read`; v2 `system/<Type>.<r|s|rs>` (read,
# search, both). `*` is every resource type. Writes (issue 16, the Observation import): v1 `system/<Type>.write`, v2
# any of c, r, u, d, s in that order (`.c`, `.cu`, `.cruds`); only create is served (a transaction of
# Observations), and only a client registered with write allowed (FhirClient.allow_write) may ask for them.
# `patient/` and `user/` scopes and v2 query restrictions (`?category=...`) are refused (SMART App Launch 2.x,
# "Scopes and Launch Context").
SCOPE_PATTERN = re.compile(r"system/(?P<type>\*|[A-Z][A-Za-z]{0,63})\.(?P<perm>read|write|(?=[cruds])c?r?u?d?s?)")
Interaction = Literal["read", "search", "create"]
V1_PERMS = ("read", "write")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(raw: str) -> list[str] | None:
    """The requested scopes, deduplicated in order, or None when any of them is not a system scope we know."""
    scopes: list[str] = []
    for scope in raw.split():
        if not SCOPE_PATTERN.fullmatch(scope):
            return None
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def is_write_scope(scope: str) -> bool:
    """Does the scope (one parse_scopes accepted) ask to change data (v1 write, v2 c, u or d)?"""
    match = SCOPE_PATTERN.fullmatch(scope)
    perm = match["perm"] if match is not None else ""
    return perm == "write" or (perm not in V1_PERMS and bool(set(perm) & set("cud")))


def _perm_allows(perm: str, interaction: Interaction) -> bool:
    if perm in V1_PERMS:
        return (perm == "write") == (interaction == "create")
    return {"read": "r", "search": "s", "create": "c"}[interaction] in perm


def scopes_allow(scopes: tuple[str, ...] | list[str], resource_type: str, interaction: Interaction = "read") -> bool:
    for scope in scopes:
        match = SCOPE_PATTERN.fullmatch(scope)
        if match is None or match["type"] not in ("*", resource_type):
            continue
        if _perm_allows(match["perm"], interaction):
            return True
    return False


@dataclass(frozen=True)
class SystemPrincipal:
    """A backend system acting for one organisation (backend.access.ScopedUser): sees that organisation's patients,
    like a pharmacist; reads, or with a write scope imports Observations. `pk` is the FhirClient's id; not a User."""

    pk: UUID
    client_id: str
    organisation_id: UUID
    scopes: tuple[str, ...]
    role: str = SYSTEM
    is_active: bool = True

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False


def scope_allows(principal: Any, resource_type: str, interaction: Interaction = "read") -> bool:
    """May `principal` read (search, create) resources of `resource_type` under its SMART scopes? A staff user has no
    scopes: what she sees is bounded by backend.access alone."""
    if isinstance(principal, SystemPrincipal):
        return scopes_allow(principal.scopes, resource_type, interaction)
    return getattr(principal, "role", None) != SYSTEM and bool(getattr(principal, "is_authenticated", False))


def request_principal(request: Request) -> ScopedUser:
    """Who calls a FHIR view: a staff User (API token) or a SystemPrincipal (SMART token), for backend.access and
    backend.audit (which records a system by its client id)."""
    user = request.user
    if not isinstance(user, User | SystemPrincipal):
        raise exceptions.NotAuthenticated
    return cast(ScopedUser, user)


class FhirSystemTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token>` from the SMART token endpoint. A JWT (a staff API token: it has dots,
    ours never do) is left to the next authentication class; an unknown, expired or revoked token is a 401."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[SystemPrincipal, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid access token.") from exc
        if "." in token:
            return None
        row = (
            FhirAccessToken.objects.select_related("client")
            .filter(token_hash=hash_token(token), expires_at__gt=timezone.now(), client__is_active=True)
            .first()
        )
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid or expired access token.")
        principal = SystemPrincipal(
            pk=row.client_id,
            client_id=row.client.client_id,
            organisation_id=row.organisation_id,
            scopes=tuple(row.scopes.split()),
        )
        return principal, token

    def authenticate_header(self, request: Request) -> str:
        # A 401 (not 403) with the challenge RFC 6750 asks for.
        return 'Bearer realm="fhir"'
