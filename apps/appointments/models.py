"""Appointments the care team books for a patient (an injection, an infusion, a DXA scan, a visit, a blood test) and
the dental checks recorded before a first denosumab (DOMAIN D8)."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Patient
from backend.models import BaseModel, SyncVersioned


class AppointmentKind(models.TextChoices):
    INJECTION = "injection", "Injection"
    INFUSION = "infusion", "Infusion"
    DXA = "dxa", "DXA scan"
    VISIT = "visit", "Clinic visit"
    LAB = "lab", "Blood test"


# The kinds given from one of her schedules (a dose is recorded for them): they name the schedule.
DOSE_KINDS = frozenset({AppointmentKind.INJECTION, AppointmentKind.INFUSION})


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    GIVEN = "given", "Given"  # an injection or infusion whose dose was recorded for it (services.given_for)
    CANCELLED = "cancelled", "Cancelled"


class Appointment(SyncVersioned, BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="appointments")
    kind = models.CharField(max_length=12, choices=AppointmentKind.choices)
    schedule = models.ForeignKey(
        "medications.Schedule", on_delete=models.CASCADE, null=True, blank=True, related_name="appointments"
    )
    starts_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # An injection or infusion: the instant her local day of `starts_at` ends, when the appointment watch checks
    # that a dose was recorded (D9). Null once checked, for a cancelled one and for the other kinds.
    missed_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_start_idx"),
            models.Index(fields=["schedule", "status", "starts_at"], name="appointment_schedule_idx"),
            models.Index(
                fields=["missed_check_at"],
                name="appointment_missed_check_idx",
                condition=models.Q(missed_check_at__isnull=False),
            ),
            models.Index(fields=["patient", "version"], name="appointment_patient_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.patient_id} at {self.starts_at:%Y-%m-%d %H:%M}"


class DentalCheck(BaseModel):
    """A dental examination recorded by the care team (DOMAIN D6/D8: before a first denosumab)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="dental_checks")
    checked_on = models.DateField()
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-checked_on", "id"]

    def __str__(self) -> str:
        return f"dental check {self.patient_id} on {self.checked_on}"
