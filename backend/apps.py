from django.apps import AppConfig


class BoneSyncAppConfig(AppConfig):
    """The base of every BoneSync app's config. `ready` subscribes the app's receivers (`<app>.receivers.connect()`,
    when `receivers` is set: backend.events), then `register` answers the lower layers' lookups (README, Events)."""

    default = False  # Django's pick among an apps.py's configs: never this base, imported beside the app's own
    default_auto_field = "django.db.models.BigAutoField"
    receivers = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.default = True

    def ready(self) -> None:
        if self.receivers:
            from importlib import import_module

            import_module(f"{self.name}.receivers").connect()
        self.register()

    def register(self) -> None:
        """The lookups and reminder sources this app answers; none by default."""


class BackendConfig(BoneSyncAppConfig):
    """The shared kernel: base models, access control, errors, audit log. Knows nothing of medicine."""

    name = "backend"
