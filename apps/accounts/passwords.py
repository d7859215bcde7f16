"""Password rules beyond Django's validators (AUTH_PASSWORD_VALIDATORS)."""

from typing import Any

from django.core.exceptions import ValidationError


class NotOnlyWhitespaceValidator:
    """Ten spaces pass the length rule but are no secret: a password needs something other than whitespace."""

    def validate(self, password: str, user: Any = None) -> None:
        if not password.strip():
            raise ValidationError(
                "This password is only spaces. Choose one with letters, digits or symbols.",
                code="password_only_whitespace",
            )

    def get_help_text(self) -> str:
        return "Your password can't be only spaces."
