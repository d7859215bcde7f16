"""A patient's clinical profile, DXA results and labs (DOMAIN H1-H4)."""

from datetime import time
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from apps.accounts.models import Patient
from backend.models import BaseModel, SyncVersioned


class AromataseInhibitor(models.TextChoices):
    ANASTROZOLE = "anastrozole", "Anastrozole 1 mg"
    LETROZOLE = "letrozole", "Letrozole 2.5 mg"
    EXEMESTANE = "exemestane", "Exemestane 25 mg"


class AiStopReason(models.TextChoices):
    """Why she stopped her aromatase inhibitor (issue 15): all but her doctor's decision alert her coordinator."""

    SIDE_EFFECTS = "side_effects", "Side effects"
    JOINT_PAIN = "joint_pain", "Joint pain"
    OWN_DECISION = "own_decision", "Her own decision"
    DOCTOR_DECISION = "doctor_decision", "Her doctor's decision"


class AiPlannedYears(models.IntegerChoices):
    """The planned length of the aromatase-inhibitor course (DOMAIN T1: 5 years, often extended to 10)."""

    FIVE = 5, "5 years"
    TEN = 10, "10 years"


class Smoking(models.TextChoices):
    UNKNOWN = "", "Unknown"
    NEVER = "never", "Never smoked"
    FORMER = "former", "Former smoker"
    CURRENT = "current", "Current smoker"


class ContactChannel(models.TextChoices):
    """How the care team reaches a patient: her preferred channel here, a contact attempt's channel in alerts."""

    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    IN_PERSON = "in_person", "In person"
    APP_MESSAGE = "app_message", "Message in the app"


class PatientProfile(SyncVersioned):
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    birth_date = models.DateField()
    timezone = models.CharField(max_length=64, help_text="IANA time zone, e.g. Europe/Paris.")
    aromatase_inhibitor = models.CharField(max_length=20, choices=AromataseInhibitor.choices, blank=True)
    ai_started_on = models.DateField(null=True, blank=True)
    # The planned course (DOMAIN T1): a length in years from ai_started_on, or an end date; at most one of them.
    ai_planned_years = models.PositiveSmallIntegerField(null=True, blank=True, choices=AiPlannedYears.choices)
    ai_planned_end_on = models.DateField(null=True, blank=True)
    # She stopped the AI before its planned end: when, and why (issue 15). Null: on it (or never started).
    ai_stopped_on = models.DateField(null=True, blank=True)
    ai_stop_reason = models.CharField(max_length=20, choices=AiStopReason.choices, blank=True)
    # Her weekly joint-pain check-in reminder (DOMAIN J3): the local weekday (0 = Monday) and wall-clock time.
    check_in_weekday = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(6)])
    check_in_time = models.TimeField(default=time(18, 0))
    height_cm = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("100")), MaxValueValidator(Decimal("230"))],
    )
    weight_kg = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("25")), MaxValueValidator(Decimal("300"))],
    )
    smoker = models.CharField(max_length=10, choices=Smoking.choices, blank=True)
    family_hip_fracture = models.BooleanField(default=False)
    prior_fragility_fracture = models.BooleanField(default=False)
    oral_corticosteroids_months = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(1200)])
    # Facts the pharmacist checks need (teriparatide: radiation/metastases; A5: oral bisphosphonates).
    prior_skeletal_radiation = models.BooleanField(default=False)
    bone_metastases = models.BooleanField(default=False)
    cannot_stay_upright = models.BooleanField(default=False, help_text="Cannot stay upright 30 minutes (DOMAIN A5).")
    esophageal_disorder = models.BooleanField(default=False, help_text="Esophageal stricture or achalasia (A5).")
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    push_detail_opt_in = models.BooleanField(
        default=False, help_text="Push texts may name the medicine (privacy: off by default)."
    )
    # How her care team reaches her (issue 14): numbers stored in E.164 ("+442079460123"), validated by
    # django-phonenumber-field; not synced to her app (the sync table lists its columns).
    phone = PhoneNumberField(blank=True, help_text="Main phone number, E.164.")
    phone_alt = PhoneNumberField(blank=True, help_text="Another phone number, E.164.")
    preferred_channel = models.CharField(max_length=20, choices=ContactChannel.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.patient_id}"


class DxaSite(models.TextChoices):
    LUMBAR_SPINE = "lumbar_spine", "Lumbar spine"
    FEMORAL_NECK = "femoral_neck", "Femoral neck"
    TOTAL_HIP = "total_hip", "Total hip"


class BoneDensityResult(SyncVersioned, BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="bone_density_results")
    measured_on = models.DateField()
    site = models.CharField(max_length=20, choices=DxaSite.choices)
    t_score = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("-6.0")), MaxValueValidator(Decimal("4.0"))],
    )
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-measured_on", "site"]
        indexes = [models.Index(fields=["patient", "-measured_on"])]

    def __str__(self) -> str:
        return f"{self.site} {self.t_score} on {self.measured_on}"


class LabKind(models.TextChoices):
    EGFR = "egfr", "eGFR"
    CRCL = "crcl", "Creatinine clearance"
    SERUM_CALCIUM = "serum_calcium", "Serum calcium"
    VITAMIN_D_25OH = "vitamin_d_25oh", "25-hydroxyvitamin D"


class LabResult(BaseModel):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="lab_results")
    kind = models.CharField(max_length=20, choices=LabKind.choices)
    value = models.DecimalField(max_digits=7, decimal_places=2)
    unit = models.CharField(max_length=20)
    measured_on = models.DateField()
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-measured_on", "kind"]
        indexes = [models.Index(fields=["patient", "kind", "-measured_on"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} {self.unit} on {self.measured_on}"
