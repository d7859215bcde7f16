"""The appointment reminder source: 3 days and 1 day before each booked appointment, at 09:00 her local time
(design, issue 14; quiet hours defer them like any reminder). A moved or cancelled appointment publishes
PlanChanged, so its unsent reminders are withdrawn (and the new ones planned) at once."""

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from uuid import UUID

from apps.appointments.models import Appointment, AppointmentKind, AppointmentStatus
from apps.appointments.rules import APPOINTMENT_THRESHOLDS, reminder_instants
from backend import clock
from backend.lookups import among
from backend.reminder_sources import ReminderSlot, ReminderSource

# What each kind is called in a reminder: the generic text names no drug or diagnosis (DESIGN, privacy).
KIND_NOUN = {
    AppointmentKind.INJECTION: "injection",
    AppointmentKind.INFUSION: "infusion",
    AppointmentKind.DXA: "bone density scan",
    AppointmentKind.VISIT: "clinic visit",
    AppointmentKind.LAB: "blood test",
}


def _when(days: int) -> str:
    return "tomorrow" if days == 1 else f"in {days} days"


class AppointmentReminderSource(ReminderSource):
    kind = "appointment"
    stale_after_minutes = 12 * 60  # design: a reminder of an appointment days ahead still helps that evening

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        rows = Appointment.objects.filter(among("pk", source_ids), status=AppointmentStatus.BOOKED)
        return set(rows.values_list("pk", flat=True))

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        furthest = max(APPOINTMENT_THRESHOLDS.reminder_days_before) + 2  # a day of margin for zones and DST
        rows = Appointment.objects.filter(
            status=AppointmentStatus.BOOKED,
            starts_at__gt=window_start,
            starts_at__lt=window_end + timedelta(days=furthest),
        ).select_related("patient__profile", "schedule__medication")
        if patient_ids is not None:
            rows = rows.filter(patient_id__in=list(patient_ids))
        for appointment in rows.iterator(chunk_size=500):
            zone = clock.zone(appointment.patient.profile.timezone)
            local = appointment.starts_at.astimezone(zone)
            noun = KIND_NOUN.get(AppointmentKind(appointment.kind), "appointment")
            detail = noun
            if appointment.schedule is not None:
                detail = f"{appointment.schedule.medication.name.lower()} {noun}"
            place = f", {appointment.location}" if appointment.location else ""
            for days, local_date, due_at in reminder_instants(appointment.starts_at, zone):
                if not (window_start <= due_at < window_end) or due_at >= appointment.starts_at:
                    continue
                yield ReminderSlot(
                    source_kind=self.kind,
                    source_id=appointment.pk,
                    patient_id=appointment.patient_id,
                    local_date=local_date,
                    local_time=due_at.astimezone(zone).time(),
                    due_at=due_at,
                    text_generic=f"You have a clinic appointment {_when(days)} at {local:%H:%M}",
                    text_detailed=f"Your {detail} is {_when(days)}, {local:%A %d %B} at {local:%H:%M}{place}",
                )
