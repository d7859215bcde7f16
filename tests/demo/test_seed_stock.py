"""The demo shows stock and refills (issue 17): Rosa's last alendronate tablet makes a refill due, and its refill
reminder is pending; clinic-given injections hold no stock."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.models import Patient
from apps.medications.models import Schedule
from apps.reminders.models import OccurrenceState, ReminderOccurrence

pytestmark = pytest.mark.django_db(transaction=True)  # the reminder follows the stock once the seed commits


def test_rosa_has_a_refill_due_and_its_reminder_pending(capsys) -> None:
    call_command("seed_demo")
    rosa = Patient.objects.get(user__email__startswith="rosa")
    client = APIClient()
    client.force_authenticate(rosa.user)
    schedules = client.get(f"/api/v1/patients/{rosa.id}/schedules/").json()["results"]
    stock = {s["medication_code"]: s["stock"] for s in schedules}
    assert (stock["alendronate"]["stock_on_hand"], stock["alendronate"]["refill_due"]) == (1, True)
    assert (stock["letrozole"]["stock_on_hand"], stock["letrozole"]["refill_due"]) == (40, False)
    weekly = Schedule.objects.get(patient=rosa, medication__code="alendronate")
    pending = ReminderOccurrence.objects.filter(
        source_kind="refill", source_id=weekly.id, state=OccurrenceState.PENDING
    )
    assert pending.count() == 2
    assert not Schedule.objects.filter(medication__administered_by="clinic").exclude(stock_on_hand=None).exists()
    call_command("seed_demo")  # idempotent
    assert Schedule.objects.get(pk=weekly.pk).stock_on_hand == 1
