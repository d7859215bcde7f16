"""A pharmacist's request for changes reaches the patient's coordinators as a worklist item (issue 14, point 8).

Her decision to request changes raises one alert of kind `review_changes_requested` on the schedule, carrying her
note; a newer request on the same schedule replaces the older item (one open item per schedule, with the latest
note). Changing the schedule sends it back to her queue (any change to a schedule resets its review), and the item
stays on the worklist until she verifies the schedule: then it resolves by itself. Raised and resolved in the
decision's transaction (backend.events.ReviewDecided): the decision and the item are one fact.
"""

from django.db.models import Q

from apps.alerts.models import Severity
from apps.alerts.services import alert_raise, alerts_resolve_automatically
from apps.medications.models import ReviewDecision
from backend.events import ReviewDecided

KIND = "review_changes_requested"


def _episode(decision: ReviewDecision) -> str:
    return f"decision:{decision.pk}"  # each request for changes is its own episode: raised exactly once


def _message(decision: ReviewDecision) -> str:
    schedule = decision.schedule
    reviewer = decision.reviewer.full_name or decision.reviewer.email
    drug = f"{schedule.medication.name} {schedule.dose}".strip()
    return f"Pharmacist {reviewer} requested changes to {drug}: {decision.note}"


def _rule(decision: ReviewDecision) -> str:
    """The rule of the most severe automated finding she saw (findings are stored most severe first), if any."""
    for finding in decision.findings or []:
        if finding.get("rule"):
            return str(finding["rule"])[:10]
    return ""


def _severity(decision: ReviewDecision) -> str:
    high = any(f.get("severity") == "high" for f in decision.findings or [])
    return Severity.HIGH if high else Severity.NORMAL


def settle_review_request(event: ReviewDecided) -> None:
    decision = ReviewDecision.objects.select_related("schedule__medication", "schedule__patient", "reviewer").get(
        pk=event.decision_id
    )
    schedule = decision.schedule
    open_items = Q(kind=KIND, schedule_id=schedule.pk)
    if decision.decision == ReviewDecision.Decision.VERIFY:
        alerts_resolve_automatically(
            patient=schedule.patient,
            kinds=open_items,
            note=f"Resolved automatically: the pharmacist verified the schedule on {decision.created_at:%d %B %Y}.",
        )
        return
    alerts_resolve_automatically(
        patient=schedule.patient,
        kinds=open_items,
        note="Replaced by the pharmacist's newer request for changes.",
    )
    alert_raise(
        patient=schedule.patient,
        schedule=schedule,
        kind=KIND,
        severity=_severity(decision),
        message=_message(decision),
        episode=_episode(decision),
        rule=_rule(decision),
    )
