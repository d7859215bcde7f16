"""Check-ins for tests, recorded through the service (so the alert and the notice follow, as in the app)."""

import uuid
from datetime import datetime

from apps.accounts.models import Patient, User
from apps.joint_pain.models import JointPainCheckIn
from apps.joint_pain.services import check_in_record


def make_check_in(
    patient: Patient,
    answered_at: datetime,
    worst_pain: int,
    *,
    stiffness: int = 2,
    interfered: bool = False,
    ai_impact: str = "none",
    actor: User | None = None,
) -> JointPainCheckIn:
    return check_in_record(
        actor=actor or patient.user,
        patient=patient,
        id=uuid.uuid4(),
        answered_at=answered_at,
        worst_pain=worst_pain,
        stiffness=stiffness,
        interfered=interfered,
        ai_impact=ai_impact,
    ).check_in
