from django.apps import AppConfig


class SyncConfig(AppConfig):
    """The WatermelonDB pull/push endpoint and its table registry (the versioning machinery is backend's)."""

    name = "apps.sync"
    label = "sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.sync.triggers import ensure_triggers_after_migrate

        post_migrate.connect(ensure_triggers_after_migrate, sender=self, dispatch_uid="sync_ensure_triggers")
