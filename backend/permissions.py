"""Role checks for views. Scope (which patients) is the access functions' job; this is only "which role"."""

from django.core.exceptions import PermissionDenied

from backend.roles import Role


def require_role(user: object, *roles: Role) -> None:
    """403 unless the signed-in user has one of `roles`."""
    if getattr(user, "role", None) not in roles:
        raise PermissionDenied
