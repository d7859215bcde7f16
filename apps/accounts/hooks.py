"""Announcements from the accounts layer to the layers above (reminders removes a signed-out installation's push
devices)."""

from collections.abc import Callable
from typing import Any

SignedOutHandler = Callable[[Any, str], None]
_signed_out: list[SignedOutHandler] = []


def on_signed_out(handler: SignedOutHandler) -> SignedOutHandler:
    if handler not in _signed_out:
        _signed_out.append(handler)
    return handler


def signed_out(user_id: Any, device_id: str) -> None:
    """A user signed out of the app on the installation `device_id` (the app's own random id)."""
    for handler in _signed_out:
        handler(user_id, device_id)
