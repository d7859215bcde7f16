"""Signal receivers of accounts, connected in AccountsConfig.ready."""

from typing import Any

from django.dispatch import receiver

from apps.accounts import services
from apps.accounts.models import User, password_changed


@receiver(password_changed, sender=User)
def revoke_refresh_tokens(sender: type[User], user: User, **kwargs: Any) -> None:
    services.refresh_tokens_revoke(user=user)
