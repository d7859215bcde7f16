"""/api/schema/ and /api/docs/: Swagger UI served from this server (drf-spectacular-sidecar, pinned), and who may read
them. Public when API_DOCS_PUBLIC (the default in development); otherwise only staff and admins signed in to the
console with their second factor when it applies (the page is opened in a browser, so a session, not a token)."""

from typing import Any

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.accounts import mfa


class DocsReader(BasePermission):
    message = "The API documentation is for the care team: sign in to the console first."

    def has_permission(self, request: Request, view: Any) -> bool:
        if settings.API_DOCS_PUBLIC:
            return True
        user = request.user
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and mfa.is_mfa_staff(user)
            and not mfa.needs_second_factor(user)
        )


class SchemaView(SpectacularAPIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [DocsReader]


class DocsView(SpectacularSwaggerView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [DocsReader]
