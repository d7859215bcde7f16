from backend.apps import BoneSyncAppConfig


class RemindersConfig(BoneSyncAppConfig):
    name = "apps.reminders"
    label = "reminders"
    receivers = True
