from backend.apps import BoneSyncAppConfig


class AlertsConfig(BoneSyncAppConfig):
    name = "apps.alerts"
    label = "alerts"
    receivers = True
