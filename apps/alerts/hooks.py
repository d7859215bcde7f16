"""Announcements from the alerts layer to the layers above (reminders pushes them to staff)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.alerts.models import Alert

AlertHandler = Callable[["Alert"], None]
_alert_raised: list[AlertHandler] = []


def on_alert_raised(handler: AlertHandler) -> AlertHandler:
    if handler not in _alert_raised:
        _alert_raised.append(handler)
    return handler


def alert_raised(alert: "Alert") -> None:
    for handler in _alert_raised:
        handler(alert)
