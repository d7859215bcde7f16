"""A run overlaps the provider call of one batch with the database work of the next (outside a caller's
transaction, so this test commits for real): every reminder is still pushed once and recorded, and a dead token
answered on the provider thread is still deactivated."""

import threading
from collections import Counter
from typing import Any

import pytest
from firebase_admin import messaging

import apps.reminders.batch as batch
import apps.reminders.dispatch as dispatcher
from apps.reminders.dispatch import dispatch
from apps.reminders.models import Delivery, ReminderOccurrence
from tests.reminders.test_dispatch_batching import DUE, patients_due


@pytest.mark.django_db(transaction=True)
def test_the_next_batch_is_claimed_while_the_provider_answers(make_device, fake_fcm, monkeypatch) -> None:
    monkeypatch.setattr(dispatcher, "BATCH", 2)
    patients = patients_due(5, make_device)
    dead = patients[4].user.gcmdevice_set.get()
    fake_fcm.unregister(dead.registration_id)
    claims: list[int] = []
    second_claim = threading.Event()
    claimed_while_pushing: list[bool] = []
    claim, send_each = batch.claim, messaging.send_each

    def counted_claim(**kwargs: Any) -> Any:
        result = claim(**kwargs)
        claims.append(len(result[0]))
        if len(claims) == 2:
            second_claim.set()
        return result

    def slow_provider(messages: list[Any], **kwargs: Any) -> Any:
        if not claimed_while_pushing:  # the first call answers only once the next batch is claimed (or 10 s on)
            claimed_while_pushing.append(second_claim.wait(timeout=10))
        return send_each(messages, **kwargs)

    monkeypatch.setattr(batch, "claim", counted_claim)
    monkeypatch.setattr(messaging, "send_each", slow_provider)
    report = dispatch(now=DUE)
    assert claimed_while_pushing == [True]
    assert claims == [2, 2, 1]
    assert (report.claimed, report.sent, report.failed) == (5, 4, 1)
    pushed = Counter(m.data["occurrence"] for m in fake_fcm.messages)
    assert set(pushed.values()) == {1} and len(pushed) == 5  # each handed to the provider once
    assert Counter(ReminderOccurrence.objects.filter(due_at=DUE).values_list("state", flat=True)) == {
        "sent": 4,
        "failed": 1,
    }
    assert Delivery.objects.count() == 5
    dead.refresh_from_db()
    assert dead.active is False  # deactivated from the provider thread, on its own connection
