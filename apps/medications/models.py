"""The medicine catalogue (DOMAIN table), a patient's schedules, dose records and pharmacist review decisions."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Patient
from backend.models import BaseModel, SyncVersioned


class Route(models.TextChoices):
    ORAL = "oral", "Oral"
    SUBCUTANEOUS = "subcutaneous", "Subcutaneous injection"
    INTRAVENOUS = "intravenous", "Intravenous infusion"


class AdministeredBy(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINIC = "clinic", "Clinic"


class DrugClass(models.TextChoices):
    ORAL_BISPHOSPHONATE = "oral_bisphosphonate", "Oral bisphosphonate"
    INJECTABLE_ANTIRESORPTIVE = "injectable_antiresorptive", "Injectable anti-resorptive"
    ANABOLIC = "anabolic", "Anabolic"
    AROMATASE_INHIBITOR = "aromatase_inhibitor", "Aromatase inhibitor"


class RecurrenceUnit(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class Medication(BaseModel):
    """A catalogue entry (seeded by a data migration from DOMAIN's medicines table)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    dose = models.CharField(max_length=40, help_text="Usual dose, e.g. '70 mg'.")
    dose_mg = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    route = models.CharField(max_length=20, choices=Route.choices)
    drug_class = models.CharField(max_length=30, choices=DrugClass.choices)
    administered_by = models.CharField(max_length=10, choices=AdministeredBy.choices)
    default_unit = models.CharField(max_length=10, choices=RecurrenceUnit.choices)
    default_interval = models.PositiveSmallIntegerField(default=1)
    is_anti_resorptive = models.BooleanField(default=False)
    injection_bands = models.CharField(
        max_length=30, blank=True, help_text="Injection-watch bands (DOMAIN D4/D5) for 6-monthly injectables."
    )
    instructions = models.TextField(blank=True, help_text="How to take it (DOMAIN A1, A2), shown in the app.")
    source = models.CharField(max_length=20, help_text="DOMAIN table row, e.g. M1.")

    class Meta:
        ordering = ["source", "name"]

    def __str__(self) -> str:
        return f"{self.name} {self.dose}"


class StockTracked(models.Model):
    """Units on hand of a self-taken medicine or a supplement (issue 17, apps.medications.stock). Null stock: not
    tracked. Written only by apps.medications.stock (decremented with each dose taken, topped up by a refill, set by a
    count), under the item's row lock; read-only in sync (the server owns the count, the app reads it)."""

    stock_on_hand = models.PositiveIntegerField(null=True, blank=True, help_text="Units on hand; null: not tracked.")
    pack_size = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Units in one pack.")
    units_per_dose = models.PositiveSmallIntegerField(default=1, help_text="Units taken at each dose or intake.")
    refill_warning_days = models.PositiveSmallIntegerField(
        default=7, help_text="Remind to refill when the supply left covers fewer than this many days."
    )
    stock_counted_at = models.DateTimeField(null=True, blank=True, help_text="Last refill, count or set-up.")
    # Computed on every stock write (rules.stock): the local date of the last dose the units on hand cover, and the
    # date the current refill need opened (the refill reminders' anchor; null: none expected before the plan ends).
    supply_last_on = models.DateField(null=True, blank=True)
    refill_due_on = models.DateField(null=True, blank=True)

    class Meta:
        abstract = True


class ScheduleStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    VERIFIED = "verified", "Verified"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class InjectionStateField(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DUE_SOON = "due_soon", "Due soon"
    DUE = "due", "Due"
    LATE = "late", "Late"
    CRITICAL = "critical", "Critical"
    STOPPED = "stopped", "Stopped"


class Schedule(StockTracked, SyncVersioned, BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="schedules")
    medication = models.ForeignKey(Medication, on_delete=models.PROTECT, related_name="schedules")
    dose = models.CharField(max_length=40)
    unit = models.CharField(max_length=10, choices=RecurrenceUnit.choices)
    interval = models.PositiveSmallIntegerField(default=1)
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 = Monday (weekly schedules).")
    month_day = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-31 (monthly schedules).")
    local_time = models.TimeField(help_text="Wall-clock time in the patient's time zone.")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ScheduleStatus.choices, default=ScheduleStatus.ACTIVE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Its pauses, oldest first: [{"paused_on": "2026-05-04", "resumed_on": "2026-05-25" | null}], her local dates
    # (paused from paused_on, active again from resumed_on; null: still paused, or stopped while paused). Written by
    # services.schedule_update with the status, under its row lock; the PDC leaves these days out (DOMAIN P1). On the
    # row, not in a table of their own: every adherence read loads the schedule anyway, so pauses cost no query.
    pauses = models.JSONField(default=list, blank=True)
    review_status = models.CharField(max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    # Injection watch (6-monthly injectables only; DOMAIN D1-D5). The state is what the watch last acted on;
    # next_check_at is the instant its answer can next change, so the job reads only rows that are due.
    next_due_on = models.DateField(null=True, blank=True)
    injection_state = models.CharField(max_length=10, choices=InjectionStateField.choices, blank=True)
    injection_next_check_at = models.DateTimeField(null=True, blank=True)
    # A stopped injectable: when the watch found her without an active follow-on anti-resorptive (DOMAIN D5 stopped);
    # null while one covers her. Each unprotected episode, and so its one alert, is keyed by this instant.
    unprotected_since = models.DateTimeField(null=True, blank=True)
    # The 90-day PDC (DOMAIN P1) the patient list shows and filters on, the same figure the adherence API computes
    # live: for her local date adherence_checked_on, and for the next day (if nothing changes) from the instant
    # adherence_next_at (her next midnight). Null: not measured yet (fewer than 14 tracked days) or not active.
    # Refreshed on every dose write and schedule change, and by the low_adherence job once her day has turned.
    # Written with queryset updates only: none of these is a synced column.
    adherence_pdc = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    adherence_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Days the PDC is over.")
    adherence_checked_on = models.DateField(null=True, blank=True)
    adherence_pdc_next = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    adherence_days_next = models.PositiveSmallIntegerField(null=True, blank=True)
    adherence_next_at = models.DateTimeField(null=True, blank=True)
    # When the low_adherence job next judges this schedule's alert on the stored figure: soon after a write moved
    # it, else at her next midnight. Null: nothing to judge.
    adherence_judge_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["starts_on", "created_at", "id"]
        indexes = [
            models.Index(
                fields=["injection_next_check_at"],
                name="schedule_injection_check_idx",
                condition=models.Q(injection_next_check_at__isnull=False),
            ),
            models.Index(fields=["patient", "status"], name="schedule_patient_status_idx"),
            models.Index(
                fields=["adherence_next_at"],
                name="schedule_adherence_next_idx",
                condition=models.Q(status="active"),
            ),
            models.Index(
                fields=["adherence_judge_at"],
                name="schedule_adherence_judge_idx",
                condition=models.Q(adherence_judge_at__isnull=False),
            ),
            models.Index(
                fields=["review_status", "created_at"],
                name="schedule_review_pending_idx",
                condition=models.Q(review_status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.medication} for {self.patient_id}"


class DoseStatus(models.TextChoices):
    TAKEN = "taken", "Taken"
    SKIPPED = "skipped", "Skipped"


class DoseSource(models.TextChoices):
    APP = "app", "Patient's app"
    CLINIC = "clinic", "Clinic"
    PHARMACY = "pharmacy", "Pharmacy"


class DoseRecord(SyncVersioned, BaseModel):
    """A dose taken or skipped. The id is generated by the client, so re-posting is idempotent (offline phones)."""

    id = models.UUIDField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="dose_records")
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="dose_records")
    occurrence_on = models.DateField(null=True, blank=True, help_text="The scheduled local date this dose is for.")
    taken_at = models.DateTimeField(help_text="When it was really taken (may be days before it synced).")
    taken_on = models.DateField(help_text="Local date of taken_at in the patient's zone when recorded.")
    status = models.CharField(max_length=10, choices=DoseStatus.choices, default=DoseStatus.TAKEN)
    source = models.CharField(max_length=10, choices=DoseSource.choices, default=DoseSource.APP)
    site = models.CharField(max_length=40, blank=True, help_text="Injection site, e.g. 'left thigh'.")
    note = models.CharField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-taken_at", "id"]
        indexes = [
            models.Index(fields=["schedule", "status", "-taken_at"], name="dose_schedule_taken_idx"),
            models.Index(fields=["patient", "-taken_at"], name="dose_patient_taken_idx"),
            models.Index(fields=["patient", "version"], name="dose_patient_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.schedule_id} at {self.taken_at:%Y-%m-%d %H:%M}"


class ReviewDecision(BaseModel):
    class Decision(models.TextChoices):
        VERIFY = "verify", "Verified"
        REQUEST_CHANGES = "request_changes", "Changes requested"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="review_decisions")
    decision = models.CharField(max_length=20, choices=Decision.choices)
    note = models.TextField(blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    findings = models.JSONField(default=list, help_text="The automated findings the reviewer saw.")

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.decision} {self.schedule_id}"


class StockItemKind(models.TextChoices):
    SCHEDULE = "schedule", "Medication schedule"
    SUPPLEMENT_PLAN = "supplement_plan", "Supplement plan"


class StockRefill(SyncVersioned, BaseModel):
    """A refill she picked up (issue 17): the units it added to a schedule's or a supplement plan's stock. The id is
    generated by the client, so a refill recorded offline syncs later and re-posting it adds nothing twice. The item
    is named by kind and id (a supplement plan lives in a sibling app); written only by apps.medications.stock."""

    id = models.UUIDField(primary_key=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="stock_refills")
    item_kind = models.CharField(max_length=20, choices=StockItemKind.choices)
    item_id = models.UUIDField()
    packs = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Packs, when given in packs.")
    units = models.PositiveIntegerField(help_text="Units added.")
    refilled_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-refilled_at", "id"]
        indexes = [
            models.Index(fields=["patient", "version"], name="stock_refill_patient_sync_idx"),
            models.Index(fields=["item_id", "-refilled_at"], name="stock_refill_item_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.units} units for {self.item_kind} {self.item_id}"
