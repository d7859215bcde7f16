"""What accounts does when something is announced (backend.events), subscribed by its AppConfig (backend.apps)."""

from apps.accounts import services
from backend.events import PasswordChanged, subscribe


def connect() -> None:
    subscribe(PasswordChanged, revoke_refresh_tokens, in_transaction=True)


def revoke_refresh_tokens(event: PasswordChanged) -> None:
    """In the password change's transaction: her apps sign in again with the new one (see backend.events)."""
    services.refresh_tokens_revoke(user_id=event.user_id)
