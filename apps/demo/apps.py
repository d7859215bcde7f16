from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo organisation (`manage.py seed_demo`): the top layer, since it builds on every app below it."""

    name = "apps.demo"
    label = "demo"
