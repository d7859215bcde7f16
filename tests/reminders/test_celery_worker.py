"""A real Celery worker consuming from the CI Redis delivers a due reminder end to end: task message through the
broker, the dispatcher in the worker, the (faked at the library boundary) FCM client, the delivery record."""

import time as clock_time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from push_notifications.models import GCMDevice

from apps.reminders.materialise import materialise
from apps.reminders.models import Delivery, ReminderOccurrence
from config.celery_app import app
from tests.conftest import World
from tests.factories import make_schedule

QUEUE = "it-reminders"


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_on_redis_delivers_a_due_reminder(world: World, fake_fcm) -> None:
    now = timezone.now()
    ten_minutes_ago = (now - timedelta(minutes=10)).astimezone(ZoneInfo("Europe/London"))
    make_schedule(
        world.ann,
        "letrozole",
        starts_on=date(2026, 1, 5),
        local_time=ten_minutes_ago.time().replace(second=0, microsecond=0),
    )
    materialise(now=now - timedelta(minutes=30), patient_ids=[world.ann.id])
    GCMDevice.objects.create(user=world.ann.user, registration_id="ann-phone", cloud_message_type="FCM")
    due = ReminderOccurrence.objects.get(state="pending", due_at__lte=now)

    app.loader.import_default_modules()
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[QUEUE]):
        app.tasks["reminders.dispatch"].apply_async(queue=QUEUE)
        deadline = clock_time.monotonic() + 30
        while ReminderOccurrence.objects.get(pk=due.pk).state != "sent":
            assert clock_time.monotonic() < deadline, "the worker did not deliver within 30 s"
            clock_time.sleep(0.2)
    assert [m.token for m in fake_fcm.delivered] == ["ann-phone"]
    assert list(Delivery.objects.filter(occurrence=due).values_list("outcome", flat=True)) == ["sent"]
