from django.apps import AppConfig


class BackendConfig(AppConfig):
    """The shared kernel: base models, access control, errors, audit log. Knows nothing of medicine."""

    name = "backend"
    default_auto_field = "django.db.models.BigAutoField"
