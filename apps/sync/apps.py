from django.apps import AppConfig


class SyncConfig(AppConfig):
    """The WatermelonDB pull/push endpoint and its table registry (the versioning machinery is backend's)."""

    name = "apps.sync"
    label = "sync"
    default_auto_field = "django.db.models.BigAutoField"
