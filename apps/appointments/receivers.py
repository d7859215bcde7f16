"""What the appointments layer does when the layers below announce something (backend.events), subscribed by
AppointmentsConfig.ready. In the writer's transaction: a dose recorded, its appointment closed as given and its
missed-appointment alert resolved are one fact (the worklist never shows a given injection as missed)."""

from django.db.models import Q

from apps.accounts.models import Patient
from apps.alerts.services import alerts_resolve_automatically
from apps.appointments.jobs import MISSED_KIND
from apps.appointments.services import appointments_mark_given
from apps.medications.models import DoseStatus
from backend.events import DoseRecorded, subscribe


def connect() -> None:
    subscribe(DoseRecorded, settle_appointments_on_dose, in_transaction=True)


def settle_appointments_on_dose(event: DoseRecorded) -> None:
    """D9: the dose recorded as given for the schedule resolves its open `appointment_missed` alerts, and the booked
    appointment it was given for is closed as given (the patient page stops offering "Record as given")."""
    # Only the clinic-given drugs (denosumab, zoledronic acid: the injection watch's) are booked: an oral dose, most
    # of a sync push's, needs no read (a push of 220 doses stays a handful of queries).
    if event.status != DoseStatus.TAKEN or not event.injection_bands:
        return
    appointments_mark_given(schedule_id=event.schedule_id, taken_on=event.taken_on)
    alerts_resolve_automatically(
        patient=Patient(pk=event.patient_id),
        kinds=Q(kind=MISSED_KIND, schedule_id=event.schedule_id),
        note=f"Resolved automatically: the dose was recorded as given on {event.taken_on:%d %B %Y}.",
    )
