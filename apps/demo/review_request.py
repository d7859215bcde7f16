"""Demo data for the pharmacist's loop (issue 14): a pending request for changes, so a newcomer sees it on the
coordinator's worklist and in the schedule's review history. Idempotent: made once, on Rosa's alendronate while it
still awaits its first review."""

from apps.accounts.models import User
from apps.medications.models import ReviewDecision, ReviewStatus, Schedule
from apps.medications.selectors import review_findings
from apps.medications.services import review_decide

NOTE = (
    "Alendronate at 06:30: please confirm with Rosa that she takes it with a full glass of plain water and stays "
    "upright for 30 minutes, and that her 13:00 calcium is her first calcium of the day. Send it back once checked."
)


def seed_review_request(pharmacist: User) -> None:
    schedule = (
        Schedule.objects.select_related("medication", "patient__profile")
        .filter(patient__user__email="rosa@demo.bonesync.test", medication__code="alendronate")
        .first()
    )
    if schedule is None or schedule.review_status != ReviewStatus.PENDING:
        return
    if ReviewDecision.objects.filter(schedule=schedule).exists():
        return
    review_decide(
        reviewer=pharmacist,
        schedule=schedule,
        decision=ReviewDecision.Decision.REQUEST_CHANGES,
        note=NOTE,
        findings=review_findings([schedule])[schedule.pk],
    )
