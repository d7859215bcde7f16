from django.apps import AppConfig


class ExerciseConfig(AppConfig):
    name = "apps.exercise"
    label = "exercise"
    default_auto_field = "django.db.models.BigAutoField"
