from datetime import datetime, timedelta

from django.utils import timezone

from apps.accounts.models import Patient
from tests.factories import make_schedule


def make_appointment(patient: Patient, *, starts_at: datetime | None = None, **changes: object):
    """An injection appointment of a denosumab schedule (made for it unless given), booked through the service."""
    from apps.appointments.services import appointment_create

    staff = patient.care_team.first()
    actor = staff.staff if staff else patient.user
    values: dict = {
        "kind": "injection",
        "starts_at": starts_at or timezone.now() + timedelta(days=10),
        "location": "Clinic B, room 4",
        **changes,
    }
    if values["kind"] in ("injection", "infusion") and "schedule" not in values:
        values["schedule"] = make_schedule(patient, "denosumab")
    return appointment_create(actor=actor, patient=patient, **values)
