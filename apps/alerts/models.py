"""Care alerts for staff (raised once, acknowledged, resolved; history kept) and plain-language notices for
patients."""

from django.conf import settings
from django.db import models

from apps.accounts.models import Patient
from apps.profiles.models import ContactChannel
from backend.models import BaseModel, SyncVersioned


class Severity(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


SEVERITY_RANK = {Severity.URGENT: 4, Severity.HIGH: 3, Severity.NORMAL: 2, Severity.LOW: 1}


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    schedule = models.ForeignKey(
        "medications.Schedule", on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField(help_text="For ordering: urgent 4 .. low 1.")
    message = models.TextField()
    rule = models.CharField(max_length=10, blank=True, help_text="DOMAIN rule id.")
    # What makes this alert "the same one": e.g. the due date of the injection cycle. One alert per
    # (patient, kind, episode): a second raise of the same episode is a no-op (exactly once).
    episode = models.CharField(max_length=60)
    state = models.CharField(max_length=15, choices=AlertState.choices, default=AlertState.OPEN)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    # The follow-up date of the newest contact attempt (issue 14), and the instant it begins in her time zone: the
    # alert waits until then and comes back to the top of the worklist on that local date. Both null: not waiting.
    follow_up_on = models.DateField(null=True, blank=True)
    waiting_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-severity_rank", "raised_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind", "episode"], name="alert_once_per_episode"),
        ]
        indexes = [
            models.Index(
                fields=["-severity_rank", "raised_at"],
                name="alert_open_urgency_idx",
                condition=~models.Q(state="resolved"),
            ),
            models.Index(fields=["schedule", "state"], name="alert_schedule_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity}) for {self.patient_id}"


class AlertEvent(models.Model):
    """History of an alert: raised, escalated, acknowledged, resolved (by whom, with what note)."""

    class Action(models.TextChoices):
        RAISED = "raised", "Raised"
        ESCALATED = "escalated", "Escalated"  # its severity was raised while it stayed open (e.g. DOMAIN J3 high)
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    id = models.BigAutoField(primary_key=True)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=15, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.alert_id}"


class ContactOutcome(models.TextChoices):
    REACHED = "reached", "Reached her"
    NO_ANSWER = "no_answer", "No answer"
    LEFT_MESSAGE = "left_message", "Left a message"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    DECLINED = "declined", "She declined"


class ContactAttempt(BaseModel):
    """One try to reach the patient about an alert (issue 14): repeatable, never edited. The newest one's
    `follow_up_on` makes the alert wait until that local date."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="contacts")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_attempts")
    channel = models.CharField(max_length=20, choices=ContactChannel.choices)
    outcome = models.CharField(max_length=20, choices=ContactOutcome.choices)
    note = models.TextField(blank=True)
    follow_up_on = models.DateField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-created_at"]
        indexes = [
            models.Index(fields=["alert", "-at"], name="contact_alert_newest_idx"),
            models.Index(fields=["patient", "-at"], name="contact_patient_newest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.outcome} for {self.alert_id}"


class Notice(SyncVersioned, BaseModel):
    """A plain-language message for the patient (what to do), listed in her app."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="notices")
    schedule = models.ForeignKey(
        "medications.Schedule", on_delete=models.CASCADE, null=True, blank=True, related_name="notices"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    body = models.TextField()
    episode = models.CharField(max_length=60)
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["-published_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind", "episode"], name="notice_once_per_episode"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.patient_id}"
