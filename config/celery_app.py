"""The Celery application. Beat's schedule lives in code (config.beat), not in the database."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("bonesync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
