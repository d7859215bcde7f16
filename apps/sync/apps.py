from backend.apps import BoneSyncAppConfig


class SyncConfig(BoneSyncAppConfig):
    """The WatermelonDB pull/push endpoint and its table registry (the versioning machinery is backend's)."""

    name = "apps.sync"
    label = "sync"

    def ready(self) -> None:
        super().ready()
        from django.db.models.signals import post_migrate

        from apps.sync.triggers import ensure_triggers_after_migrate

        post_migrate.connect(ensure_triggers_after_migrate, sender=self, dispatch_uid="sync_ensure_triggers")
