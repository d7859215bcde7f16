"""Users, roles, organisations, patients as people in an organisation, and care-team assignments.

The clinical profile of a patient lives in `apps.profiles`; here is only what access control needs.
"""

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from backend.events import PasswordChanged, publish
from backend.models import BaseModel
from backend.roles import Role
from backend.text import search_key

# A clinic's medical record number (issue 16): what its EHR prints on her record. Letters, digits and . _ / -, starting
# and ending with a letter or digit, at most 40 characters (no spaces, so a copy-paste stray is refused).
MRN_MAX_LENGTH = 40
MRN_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,38}[A-Za-z0-9])?\Z",
    "An MRN is 1 to 40 letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit.",
)
# An identifier system is an absolute URI (FHIR Identifier.system: a URL or urn:oid:...), no whitespace.
URI_VALIDATOR = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+\Z", "An absolute URI, e.g. urn:oid:1.2.3 or https://..."
)


class Organisation(BaseModel):
    name = models.CharField(max_length=200)
    mrn_system = models.CharField(
        max_length=255,
        blank=True,
        validators=[URI_VALIDATOR],
        help_text="The identifier system (URI) the clinic's EHR uses for its MRNs (FHIR Identifier.system); empty: "
        "BoneSync's own, https://bonesync.example/fhir/identifier/mrn/<organisation id>.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="organisation_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalise_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


def normalise_email(email: str) -> str:
    return email.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # Name and email folded for search (backend.text.search_key: no accents, lower case), written by save(): what
    # the patient list and the worklist search, so "Martinez" finds "Martínez" on PostgreSQL and SQLite alike.
    search_name = models.CharField(max_length=460, blank=True, editable=False)
    role = models.CharField(max_length=20, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role=Role.ADMIN) | models.Q(organisation__isnull=False),
                name="user_non_admin_has_organisation",
            )
        ]

    def __str__(self) -> str:
        return self.email

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_removed = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = search_key(f"{self.full_name} {self.email}")
        fields = kwargs.get("update_fields")
        if fields is not None and {"full_name", "email"} & set(fields):
            kwargs["update_fields"] = {*fields, "search_name"}
        # A new password (set_password marks it in _password; Django's hash upgrade at sign-in clears that mark, as it
        # is no change) or none at all ends the account's app sessions, whichever path set it: admin, command, API.
        changed = not self._state.adding and (
            getattr(self, "_password", None) is not None or self.__dict__.pop("_password_removed", False)
        )
        if not changed:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():  # the change and its announcement's receivers (backend.events) together
            super().save(*args, **kwargs)
            publish(PasswordChanged(user_id=self.pk))


class Patient(BaseModel):
    """A patient as a member of an organisation; the id every patient-data URL carries."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="patient")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="patients")
    # Her clinic's medical record number (empty: not known); staff set it, she does not. Unique in the organisation.
    mrn = models.CharField("MRN", max_length=MRN_MAX_LENGTH, blank=True, default="", validators=[MRN_VALIDATOR])

    class Meta:
        ordering = ["created_at", "id"]
        # Serves a pharmacist's paged patient list without sorting the whole organisation (bench patient_list).
        indexes = [models.Index(fields=["organisation", "created_at", "id"], name="patient_org_enrolled_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "mrn"], condition=~models.Q(mrn=""), name="patient_mrn_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.user.full_name or self.user.email


class CareTeamAssignment(BaseModel):
    """A coordinator or pharmacist looking after a patient."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    staff = models.ForeignKey(User, on_delete=models.PROTECT, related_name="care_assignments")
    assigned_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["patient", "staff"], name="care_team_patient_staff_unique")]

    def __str__(self) -> str:
        return f"{self.staff} -> {self.patient}"


# --- her own account (issue 17 part 6): invitations and password resets ------------------------------------------
class AccountToken(BaseModel):
    """A one-time way to set a password, sent by email: an invitation (a patient enrolled without one) or a password
    reset (any role). The email carries a long random token (for the link) and a short code (typed in the app with
    her email); only their hashes are stored, written by the worker that sends the email, so the secrets never sit in
    the database or the broker. At most one live token per account and purpose: a new one revokes the previous."""

    class Purpose(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        PASSWORD_RESET = "password_reset", "Password reset"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_tokens")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)  # SHA-256 of the link's token
    code_hash = models.CharField(max_length=64, blank=True)  # HMAC (SECRET_KEY) of the row id and the short code
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # Superseded by a newer one, killed by too many wrong codes, or her password set another way.
    revoked_at = models.DateTimeField(null=True, blank=True)
    failed_codes = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "purpose"],
                condition=models.Q(used_at__isnull=True, revoked_at__isnull=True),
                name="account_token_one_live_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} for {self.user_id}"
