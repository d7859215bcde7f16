from django.apps import AppConfig


class SupplementsConfig(AppConfig):
    name = "apps.supplements"
    label = "supplements"
    default_auto_field = "django.db.models.BigAutoField"
