from backend.apps import BoneSyncAppConfig


class AccountsConfig(BoneSyncAppConfig):
    name = "apps.accounts"
    label = "accounts"
    receivers = True
