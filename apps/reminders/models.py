"""Reminder occurrences (materialised from every reminder source over a rolling horizon), their deliveries, and
each patient's reminder preferences."""

from django.db import models

from apps.accounts.models import Patient
from backend.models import BaseModel, SyncVersioned


class OccurrenceState(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "Being sent"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Skipped by the dispatcher because a device of the patient already holds it and fires it locally (apps/sync).
ON_DEVICE_REASON = "on device"


class OccurrenceKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    NUDGE = "nudge", "Follow-up nudge"
    NEXT_MORNING = "next_morning", "Missed dose: next morning (DOMAIN A3)"


class ReminderOccurrence(SyncVersioned, BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reminder_occurrences")
    source_kind = models.CharField(max_length=30)
    source_id = models.UUIDField()
    kind = models.CharField(max_length=12, choices=OccurrenceKind.choices, default=OccurrenceKind.REMINDER)
    local_date = models.DateField()
    local_time = models.TimeField()
    due_at = models.DateTimeField()
    dose_date = models.DateField(
        null=True, blank=True, help_text="The scheduled date the dose is for (differs for a next-morning catch-up)."
    )
    text_generic = models.CharField(max_length=200)
    text_detailed = models.CharField(max_length=300)
    expires_at = models.DateTimeField(help_text="After this a reminder no longer helps: expired, not sent.")
    state = models.CharField(max_length=10, choices=OccurrenceState.choices, default=OccurrenceState.PENDING)
    # When the dispatcher should next look at it: due_at at first, later the end of quiet hours or a retry.
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="A claim past this instant is retaken.")
    finished_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, help_text="Why skipped, expired, failed or cancelled.")
    # Set when a medication reminder is sent: then the dispatcher checks whether the dose was recorded, and only if
    # not creates the follow-up nudge (most doses are recorded by then: no row, and nothing done at the rush).
    follow_up_at = models.DateTimeField(null=True, blank=True, help_text="When to check whether a nudge is needed.")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_kind", "source_id", "kind", "due_at"], name="reminder_occurrence_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="reminder_dispatchable_idx",
                condition=models.Q(state__in=["pending", "claimed"]),
            ),
            models.Index(fields=["patient", "due_at"], name="reminder_patient_due_idx"),
            models.Index(
                fields=["follow_up_at"], name="reminder_follow_up_idx", condition=models.Q(follow_up_at__isnull=False)
            ),
            models.Index(fields=["patient", "version"], name="reminder_patient_sync_idx"),
            models.Index(fields=["source_kind", "source_id", "state"], name="reminder_source_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_kind} {self.kind} at {self.due_at:%Y-%m-%d %H:%M} ({self.state})"


class Delivery(models.Model):
    """What was sent for an occurrence, to which device, and what the provider answered."""

    id = models.BigAutoField(primary_key=True)
    occurrence = models.ForeignKey(ReminderOccurrence, on_delete=models.CASCADE, related_name="deliveries")
    platform = models.CharField(max_length=10)
    device_id = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10)  # sent | failed | dead | skipped
    error = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} {self.platform} {self.device_id}"


class ReminderPreference(models.Model):
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, primary_key=True, related_name="reminder_prefs")
    reminders_enabled = models.BooleanField(default=True)
    nudges_enabled = models.BooleanField(default=True)
    nudge_after_minutes = models.PositiveSmallIntegerField(
        default=120, help_text="Follow-up when a dose is still not recorded this long after its reminder."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reminder preferences of {self.patient_id}"


class StaffAlertPush(models.Model):
    """One push per alert per coordinator: the unique pair is the claim, the row is the record."""

    id = models.BigAutoField(primary_key=True)
    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="staff_pushes")
    staff = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    # "" while a worker pushes it (retaken after a lease), then sent | retry (transient, retaken after a backoff) |
    # failed | no_device.
    outcome = models.CharField(max_length=10, blank=True)
    error = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(help_text="When the current attempt started.")
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "staff"], name="staff_alert_push_once")]

    def __str__(self) -> str:
        return f"{self.outcome} {self.alert_id} -> {self.staff_id}"


class DeviceInstallation(models.Model):
    """Which app installation registered a push token: the app sends its own random `device_id` (generated once per
    installation, kept on the phone) with each registration, and only a registration carrying the same id may take
    the token over from another account (`apps.reminders.devices.device_register`). Both are stored hashed (SHA-256):
    the token is long and the device id is a proof, never shown."""

    id = models.BigAutoField(primary_key=True)
    platform = models.CharField(max_length=10)
    token_hash = models.CharField(max_length=64, help_text="SHA-256 of the registration id.")
    installation_hash = models.CharField(max_length=64, help_text="SHA-256 of the app's device id.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "token_hash"], name="device_installation_token_unique")
        ]
        indexes = [models.Index(fields=["installation_hash"], name="device_installation_hash_idx")]

    def __str__(self) -> str:
        return f"{self.platform} token {self.token_hash[:12]}"
