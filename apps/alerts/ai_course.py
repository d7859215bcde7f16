"""The aromatase-inhibitor course's alerts (DOMAIN T1, issue 15): a stop her doctor did not decide is a high alert
for her coordinators, once per stop; restarting resolves it."""

from django.db.models import Q

from apps.accounts.models import Patient
from apps.alerts.kinds import AI_RESTARTED, AI_STOPPED
from apps.alerts.services import alert_raise, alerts_resolve_automatically
from apps.medications.selectors import ai_list_adherence
from apps.profiles.models import AiStopReason
from apps.profiles.selectors import ai_course_of
from backend import clock
from backend.events import AiCourseResumed, AiCourseStopped

# DOMAIN T1: every reason alerts but her doctor's decision (then the team already knows and decided it).
SILENT_REASONS = frozenset({AiStopReason.DOCTOR_DECISION})


def raise_ai_stopped(event: AiCourseStopped) -> None:
    if event.reason in SILENT_REASONS:
        return
    patient = Patient.objects.select_related("profile").get(pk=event.patient_id)
    course = ai_course_of(patient.profile)
    drug = patient.profile.get_aromatase_inhibitor_display() or "Her aromatase inhibitor"
    done = f" after {course['years_completed']} years" if course["years_completed"] is not None else ""
    planned = (
        f" of a planned {course['planned_length_years']}" if course["planned_length_years"] is not None and done else ""
    )
    now = clock.now()
    alert_raise(
        patient=patient,
        kind=AI_STOPPED,
        severity="high",
        rule="T1",
        # One alert per recorded stop: a stop, a restart and another stop are two episodes.
        episode=f"{event.stopped_on.isoformat()}:{int(now.timestamp())}",
        message=(
            f"{drug} (her cancer treatment) stopped on {event.stopped_on:%d %B %Y}{done}{planned}: "
            f"{AiStopReason(event.reason).label.lower()}. Call her: about half of women do not complete 5 years."
        ),
        now=now,
    )


def resolve_ai_stopped(event: AiCourseResumed) -> None:
    patient = Patient.objects.get(pk=event.patient_id)
    now = clock.now()
    alerts_resolve_automatically(
        patient=patient,
        kinds=Q(kind=AI_STOPPED),
        note="Resolved automatically: she restarted her aromatase inhibitor.",
        now=now,
    )
    if ai_list_adherence(patient).exists():
        return
    # The stop stopped her AI schedules; without one, nothing reminds her or measures her adherence (DOMAIN T1):
    # the care team enters it (and the pharmacist reviews it). Resolved by hand once done.
    alert_raise(
        patient=patient,
        kind=AI_RESTARTED,
        severity="normal",
        rule="T1",
        episode=f"{event.stopped_on.isoformat()}:{int(now.timestamp())}",
        message=(
            "She restarted her aromatase inhibitor, and no active schedule of it is recorded: enter her schedule so "
            "her reminders and adherence tracking resume."
        ),
        now=now,
    )
