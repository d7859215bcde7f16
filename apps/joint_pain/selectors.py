"""Reads for the joint-pain check-ins: her list, and her trend judged by DOMAIN J3 (apps.joint_pain.rules)."""

from uuid import UUID

from django.db.models import QuerySet

from apps.accounts.models import Patient
from apps.joint_pain.models import JointPainCheckIn
from apps.joint_pain.rules import CheckInFact, Judgement, judge


def check_in_list(*, patient: Patient) -> QuerySet[JointPainCheckIn]:
    """Her check-ins, newest week first."""
    return JointPainCheckIn.objects.filter(patient=patient).order_by("-week_of", "id")


def check_in_facts(*, patient_id: UUID) -> list[CheckInFact]:
    """Her whole history as the rules see it, oldest week first: one query."""
    rows = (
        JointPainCheckIn.objects.filter(patient_id=patient_id)
        .order_by("week_of")
        .values_list("week_of", "worst_pain", "ai_impact", "stiffness")
    )
    return [CheckInFact(week_of=w, worst_pain=p, ai_impact=a, stiffness=s) for w, p, a, s in rows]


def check_in_trend(*, patient: Patient) -> Judgement:
    """Her weekly points, baseline and episodes (DOMAIN J3), from one query."""
    return judge(check_in_facts(patient_id=patient.pk))
