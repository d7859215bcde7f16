"""Staff alert pushes: one push per alert per assigned coordinator, recorded, no patient name on the lock screen."""

from push_notifications.models import GCMDevice

from apps.alerts.services import alert_raise
from apps.reminders.models import StaffAlertPush
from apps.reminders.staff_alerts import push_pending_staff_alerts
from tests.conftest import World
from tests.factories import CareTeamFactory


def raise_late(world: World, patient=None):
    return alert_raise(
        patient=patient or world.ann,
        kind="denosumab_late",
        severity="high",
        message="Denosumab injection is 40 days overdue.",
        episode="2026-03-02",
        rule="D5",
    )


def test_each_assigned_coordinator_gets_one_push(world: World, fake_fcm) -> None:
    GCMDevice.objects.create(user=world.cora, registration_id="cora-phone", cloud_message_type="FCM")
    GCMDevice.objects.create(user=world.cody, registration_id="cody-phone", cloud_message_type="FCM")
    GCMDevice.objects.create(user=world.phil, registration_id="phil-phone", cloud_message_type="FCM")
    alert = raise_late(world)
    first = push_pending_staff_alerts()
    again = push_pending_staff_alerts()
    assert (first.pushed, again.pushed) == (1, 0)  # Cora is assigned; Cody is not; pharmacists are not pushed
    assert [(m.token, m.body) for m in fake_fcm.delivered] == [
        ("cora-phone", "High-priority alert for one of your patients")
    ]
    assert "Ann" not in fake_fcm.delivered[0].body and "denosumab" not in fake_fcm.delivered[0].body
    assert fake_fcm.delivered[0].data["alert"] == str(alert.id)
    assert list(StaffAlertPush.objects.values_list("staff__email", "outcome")) == [("cora@example.org", "sent")]


def test_another_organisations_coordinator_is_never_pushed(world: World, fake_fcm) -> None:
    GCMDevice.objects.create(user=world.zed, registration_id="zed-phone", cloud_message_type="FCM")
    raise_late(world)
    push_pending_staff_alerts()
    assert fake_fcm.messages == []


def test_a_coordinator_without_device_is_recorded_and_a_second_gets_hers(world: World, fake_fcm) -> None:
    CareTeamFactory.create(patient=world.ann, staff=world.cody)
    GCMDevice.objects.create(user=world.cody, registration_id="cody-phone", cloud_message_type="FCM")
    raise_late(world)
    report = push_pending_staff_alerts()
    assert (report.pushed, report.no_device) == (1, 1)
    assert dict(StaffAlertPush.objects.values_list("staff__email", "outcome")) == {
        "cora@example.org": "no_device",
        "cody@example.org": "sent",
    }


def test_resolved_alerts_are_not_pushed_late(world: World, fake_fcm) -> None:
    from apps.alerts.services import alert_resolve

    GCMDevice.objects.create(user=world.cora, registration_id="cora-phone", cloud_message_type="FCM")
    alert = raise_late(world)
    alert_resolve(alert=alert, actor=world.cora, note="Called her; injection booked for Monday.")
    assert push_pending_staff_alerts().alerts == 0
    assert fake_fcm.messages == []


def test_a_transient_failure_is_pushed_again_after_the_backoff(world: World, fake_fcm) -> None:
    from datetime import timedelta

    from django.utils import timezone

    GCMDevice.objects.create(user=world.cora, registration_id="cora-phone", cloud_message_type="FCM")
    raise_late(world)
    fake_fcm.fail("cora-phone")
    now = timezone.now()
    assert push_pending_staff_alerts(now=now).retrying == 1
    assert StaffAlertPush.objects.get().outcome == "retry"
    fake_fcm.failures.clear()
    assert push_pending_staff_alerts(now=now + timedelta(seconds=30)).pushed == 0  # backoff: 1 minute
    assert push_pending_staff_alerts(now=now + timedelta(minutes=1)).pushed == 1
    push = StaffAlertPush.objects.get()
    assert (push.outcome, push.attempts) == ("sent", 2)
    assert [m.token for m in fake_fcm.delivered] == ["cora-phone"]


def test_a_permanent_failure_is_recorded_and_not_retried(world: World, fake_fcm) -> None:
    from datetime import timedelta

    from django.utils import timezone

    GCMDevice.objects.create(user=world.cora, registration_id="cora-phone", cloud_message_type="FCM")
    raise_late(world)
    fake_fcm.fail("cora-phone", transient=False)
    now = timezone.now()
    assert push_pending_staff_alerts(now=now).failed == 1
    assert push_pending_staff_alerts(now=now + timedelta(hours=1)).failed == 0
    assert StaffAlertPush.objects.get().outcome == "failed"
    assert len(fake_fcm.messages) == 1


def test_a_push_whose_worker_died_is_taken_again_after_its_lease(world: World, fake_fcm) -> None:
    from datetime import timedelta

    from django.utils import timezone

    GCMDevice.objects.create(user=world.cora, registration_id="cora-phone", cloud_message_type="FCM")
    alert = raise_late(world)
    now = timezone.now()
    # A worker claimed it (row inserted, no outcome) and died before pushing.
    StaffAlertPush.objects.create(alert=alert, staff=world.cora, at=now, attempts=1)
    assert push_pending_staff_alerts(now=now + timedelta(minutes=1)).pushed == 0  # still within its lease
    assert push_pending_staff_alerts(now=now + timedelta(minutes=5)).pushed == 1
    assert StaffAlertPush.objects.get().outcome == "sent"
    assert [m.token for m in fake_fcm.delivered] == ["cora-phone"]


def test_an_escalated_alert_is_pushed_again_as_high_priority_even_days_after_it_was_raised(
    world: World, fake_fcm
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.alerts.services import alert_escalate

    GCMDevice.objects.create(user=world.cora, registration_id="cora-phone", cloud_message_type="FCM")
    alert = alert_raise(
        patient=world.ann, kind="joint_pain", severity="normal", message="Joint pain 6/10.", episode="2026-03-02"
    )
    assert alert is not None
    push_pending_staff_alerts()
    later = timezone.now() + timedelta(days=10)  # past the sweep's two-day look-back for new alerts
    assert push_pending_staff_alerts(now=later).pushed == 0
    assert alert_escalate(alert=alert, severity="high", note="She stopped the AI.", now=later)
    assert not alert_escalate(alert=alert, severity="high", note="Again.", now=later)  # already high: nothing
    assert push_pending_staff_alerts(now=later + timedelta(minutes=1)).pushed == 1
    assert push_pending_staff_alerts(now=later + timedelta(minutes=2)).pushed == 0  # once per escalation
    assert [m.body for m in fake_fcm.delivered] == [
        "New alert for one of your patients",
        "High-priority alert for one of your patients",
    ]
