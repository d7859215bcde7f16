"""What the alerts layer does when the layers below announce something (backend.events), subscribed by
AlertsConfig.ready. All run in the writer's transaction: the alerts must agree with the write (see backend.events)."""

from django.db.models import Q

from apps.alerts.ai_course import raise_ai_stopped, resolve_ai_stopped
from apps.alerts.follow_on import delay_alert_kinds, recheck_stopped_injectables
from apps.alerts.joint_pain import joint_pain_on_check_in
from apps.alerts.review_requests import settle_review_request
from apps.alerts.services import alerts_follow_timezone, alerts_resolve_automatically
from apps.medications.models import DoseStatus, Schedule
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionState, alert_for
from apps.medications.selectors import injection_status_now
from apps.profiles.models import PatientProfile
from backend import clock
from backend.events import (
    AiCourseResumed,
    AiCourseStopped,
    CheckInRecorded,
    DoseRecorded,
    PlanChanged,
    ProfileChanged,
    ReviewDecided,
    subscribe,
)


def connect() -> None:
    subscribe(DoseRecorded, settle_injection_alerts_on_dose, in_transaction=True)
    subscribe(PlanChanged, judge_stopped_injectables, in_transaction=True)
    subscribe(ReviewDecided, settle_review_request, in_transaction=True)
    subscribe(ProfileChanged, follow_ups_follow_timezone, in_transaction=True)
    subscribe(CheckInRecorded, joint_pain_on_check_in, in_transaction=True)
    subscribe(AiCourseStopped, raise_ai_stopped, in_transaction=True)  # DOMAIN T1
    subscribe(AiCourseResumed, resolve_ai_stopped, in_transaction=True)


def follow_ups_follow_timezone(event: ProfileChanged) -> None:
    """Her local dates moved: a waiting alert comes back when its follow-up date begins in her new zone."""
    if "timezone" in event.changed:
        tz_name = PatientProfile.objects.values_list("timezone", flat=True).get(pk=event.patient_id)
        alerts_follow_timezone(patient_id=event.patient_id, tz_name=tz_name)


def settle_injection_alerts_on_dose(event: DoseRecorded) -> None:
    """DOMAIN D2/D5: resolution follows the injection state, not the write. A dose change (a new injection, even
    synced days later, a correction, a back-filled older one) has already moved `next_due`; only when she is no
    longer in an alerting band are the schedule's delay alerts resolved. Still late, they stay open; made late again
    (a correction to skipped), the watch, due now, raises it again. A push's doses arrive in the order written, each
    with the due date it left: the first that leaves her out of the alerting bands resolves them (with its note), as
    one by one; a later one finds nothing open."""
    bands = BANDS_BY_DRUG.get(event.injection_bands)
    if bands is None:  # not a drug the injection watch follows
        return
    schedule = Schedule.objects.select_related("medication", "patient__profile").get(pk=event.schedule_id)
    status = injection_status_now(schedule, clock.now(), next_due=event.next_due_on)
    if status is None or status.state == InjectionState.STOPPED or alert_for(status, bands) is not None:
        return
    alerts_resolve_automatically(
        patient=schedule.patient,
        kinds=Q(schedule=schedule) & delay_alert_kinds(bands),
        note=(
            f"Resolved automatically: injection recorded as given on {event.taken_on:%d %B %Y}; "
            f"next due {status.next_due:%d %B %Y}."
            if event.status == DoseStatus.TAKEN
            else f"Resolved automatically: with the corrected records the next injection is due "
            f"{status.next_due:%d %B %Y}."
        ),
    )


def judge_stopped_injectables(event: PlanChanged) -> None:
    """DOMAIN D5 stopped: a medication schedule of hers changed, so her stopped injectables' cover may have."""
    if event.plan_kind == "medication":
        recheck_stopped_injectables(patient_id=event.patient_id, changed_id=event.plan_id)
