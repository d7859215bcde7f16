"""What accounts does when something is announced (backend.events), subscribed by its AppConfig (backend.apps)."""

from apps.accounts import account_tokens, services
from backend.events import PasswordChanged, subscribe


def connect() -> None:
    subscribe(PasswordChanged, revoke_refresh_tokens, in_transaction=True)
    subscribe(PasswordChanged, revoke_account_tokens, in_transaction=True)


def revoke_refresh_tokens(event: PasswordChanged) -> None:
    """In the password change's transaction: her apps sign in again with the new one (see backend.events)."""
    services.refresh_tokens_revoke(user_id=event.user_id)


def revoke_account_tokens(event: PasswordChanged) -> None:
    """A password set any way (the admin, `changepassword`, a reset) ends every live invitation and reset link of the
    account: an admin locking someone out of her mailbox's reset link must not leave it working (review)."""
    account_tokens.account_tokens_revoke(user_id=event.user_id)
