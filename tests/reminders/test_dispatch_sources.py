"""The dispatcher trusts no row blindly: a stopped or deleted source, an unknown source kind or a malformed profile
is skipped (or failed) with a recorded reason, and never stops the rest of the batch."""

from datetime import UTC, date, datetime, time, timedelta

from push_notifications.models import GCMDevice

from apps.accounts.models import Patient
from apps.medications.models import Schedule
from apps.profiles.models import PatientProfile
from apps.reminders.dispatch import dispatch
from apps.reminders.materialise import materialise
from apps.reminders.models import Delivery, ReminderOccurrence
from tests.conftest import World
from tests.factories import make_schedule

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 21, 8, tzinfo=UTC)  # 08:00 London (GMT)


def two_patients_due(world: World) -> tuple[Schedule, Schedule]:
    schedules = (
        make_schedule(world.ann, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8)),
        make_schedule(world.bea, "letrozole", starts_on=date(2026, 3, 1), local_time=time(8)),
    )
    materialise(now=NOW, patient_ids=[world.ann.id, world.bea.id])
    GCMDevice.objects.create(user=world.ann.user, registration_id="ann-phone", cloud_message_type="FCM")
    GCMDevice.objects.create(user=world.bea.user, registration_id="bea-phone", cloud_message_type="FCM")
    return schedules


def occurrence_of(patient: Patient) -> ReminderOccurrence:
    return ReminderOccurrence.objects.get(patient=patient, due_at=DUE, kind="reminder")


def test_a_nudge_of_a_schedule_stopped_since_is_not_sent(world: World, fake_fcm) -> None:
    ann_schedule, _ = two_patients_due(world)
    dispatch(now=DUE)
    Schedule.objects.filter(pk=ann_schedule.pk).update(status="stopped")
    report = dispatch(now=DUE + timedelta(minutes=120))  # both nudges due
    assert (report.sent, report.skipped) == (1, 1)
    ann_nudge = ReminderOccurrence.objects.get(patient=world.ann, kind="nudge")
    assert (ann_nudge.state, ann_nudge.reason) == ("skipped", "its schedule or plan was stopped or removed")
    assert [m.token for m in fake_fcm.delivered][-1] == "bea-phone"


def test_a_reminder_whose_schedule_was_deleted_is_skipped_with_a_reason(world: World, fake_fcm) -> None:
    ann_schedule, _ = two_patients_due(world)
    ann_reminder = occurrence_of(world.ann)
    Schedule.objects.filter(pk=ann_schedule.pk).delete()
    report = dispatch(now=DUE)
    assert (report.sent, report.skipped) == (1, 1)
    ann_reminder.refresh_from_db()
    assert (ann_reminder.state, ann_reminder.reason) == ("skipped", "its schedule or plan was stopped or removed")
    assert [m.token for m in fake_fcm.delivered] == ["bea-phone"]
    assert Delivery.objects.get(occurrence=ann_reminder).outcome == "skipped"


def test_an_unknown_source_kind_is_skipped_not_crashed_on(world: World, fake_fcm) -> None:
    two_patients_due(world)
    ReminderOccurrence.objects.filter(pk=occurrence_of(world.ann).pk).update(source_kind="retired_feature")
    report = dispatch(now=DUE)
    assert (report.sent, report.skipped, report.errors) == (1, 1, [])
    assert occurrence_of(world.ann).reason == "its schedule or plan was stopped or removed"


def test_a_malformed_profile_fails_its_own_reminder_only(world: World, fake_fcm) -> None:
    two_patients_due(world)
    PatientProfile.objects.filter(pk=world.ann.pk).update(timezone="Mars/Olympus_Mons")
    report = dispatch(now=DUE)
    assert report.sent == 1 and len(report.errors) == 1
    ann_reminder = occurrence_of(world.ann)
    assert ann_reminder.state == "failed"
    assert ann_reminder.reason.startswith("error: ")
    assert [m.token for m in fake_fcm.delivered] == ["bea-phone"]


def test_every_source_kind_answers_which_of_its_sources_are_live(world: World) -> None:
    from apps.exercise.models import ExercisePlan
    from backend.reminder_sources import live_sources
    from tests.supplements.factories import make_plan

    supplement_on, supplement_off = make_plan(world.ann), make_plan(world.bea)
    supplement_off.status = "stopped"
    supplement_off.save()
    exercise_on = ExercisePlan.objects.create(patient=world.ann)
    exercise_off = ExercisePlan.objects.create(patient=world.bea, status="stopped")
    tablet = make_schedule(world.ann, "letrozole")
    injection = make_schedule(world.ann, "denosumab")
    live = live_sources(
        {
            "supplement": {supplement_on.pk, supplement_off.pk},
            "exercise": {exercise_on.pk, exercise_off.pk},
            "medication": {tablet.pk, injection.pk},  # an injection is not a dose reminder's source
            "injection_booking": {tablet.pk, injection.pk},
            "unknown": {tablet.pk},
        }
    )
    assert live == {
        ("supplement", supplement_on.pk),
        ("exercise", exercise_on.pk),
        ("medication", tablet.pk),
        ("injection_booking", injection.pk),
    }
