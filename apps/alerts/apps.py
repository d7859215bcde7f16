from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"
    label = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.alerts import receivers, selectors
        from apps.profiles.hooks import register_patient_filter

        receivers.connect()
        register_patient_filter("alert_level", selectors.filter_by_alert_level)
