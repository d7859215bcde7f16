from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "apps.medications"
    label = "medications"
    default_auto_field = "django.db.models.BigAutoField"
