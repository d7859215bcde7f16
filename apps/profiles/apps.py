from backend.apps import BoneSyncAppConfig


class ProfilesConfig(BoneSyncAppConfig):
    name = "apps.profiles"
    label = "profiles"
