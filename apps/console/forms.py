"""Console forms: sign-in for staff only, alert actions, review decisions, patient-list filters.

The rules that decide (a note is needed to resolve, a schedule must be pending) stay in the services; the views
turn a service's ValidationError into errors on these forms, so the page shows them beside the field."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from apps.alerts.models import Severity
from apps.medications.models import InjectionStateField, ReviewDecision
from backend.roles import Role

CONSOLE_ROLES = frozenset({Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN})

NOT_STAFF_MESSAGE = (
    "This console is for the care team (coordinators and pharmacists). "
    "Patients sign in with the BoneSync app on their phone."
)


class StaffAuthenticationForm(AuthenticationForm):
    """Email and password; patients are refused with a message saying where they sign in instead."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": NOT_STAFF_MESSAGE,
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "type": "email"})

    def clean_username(self) -> str:
        return str(self.cleaned_data.get("username", "")).strip().lower()

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if getattr(user, "role", None) not in CONSOLE_ROLES:
            raise ValidationError(self.error_messages["not_staff"], code="not_staff")


RETURN_TO = [("worklist", "worklist"), ("patient", "patient page")]


class AlertActionForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 30}),
        help_text="What was done (needed to resolve).",
    )
    # Where to go back to: a choice, not a URL, so a forged post cannot redirect anywhere else.
    next = forms.ChoiceField(choices=RETURN_TO, required=False, widget=forms.HiddenInput)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.Decision.choices)
    note = forms.CharField(
        max_length=4000,
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 30}),
        help_text="Needed to request changes, and to verify despite a high finding.",
    )

    def __init__(self, *args: Any, high_findings: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.high_findings = high_findings

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Verifying over a high finding records why it is safe (the review service enforces it for the API too).
        if data.get("decision") == ReviewDecision.Decision.VERIFY and self.high_findings and not data.get("note"):
            self.add_error("note", "This schedule has a high finding: say why it is safe to verify it as it is.")
        return data


ALERT_LEVELS = [("", "any"), *((s.value, f"{s.label} or higher") for s in reversed(Severity))]
INJECTION_STATES = [("", "any"), *InjectionStateField.choices]


class PatientFilterForm(forms.Form):
    q = forms.CharField(label="Name or email", max_length=200, required=False)
    alert_level = forms.ChoiceField(label="Open alert", choices=ALERT_LEVELS, required=False)
    injection_state = forms.ChoiceField(label="Injection", choices=INJECTION_STATES, required=False)
    adherence_below = forms.IntegerField(
        label="Adherence below (%)", min_value=0, max_value=100, required=False, help_text="90-day PDC"
    )
    ai_adherence_below = forms.IntegerField(
        label="AI adherence below (%)", min_value=0, max_value=100, required=False, help_text="aromatase inhibitor"
    )
    calcium_below = forms.IntegerField(
        label="Calcium below (mg/day)", min_value=0, max_value=10000, required=False, help_text="last 7 days"
    )
    exercise_below = forms.IntegerField(
        label="Exercise below (min)", min_value=0, max_value=10080, required=False, help_text="last 7 days"
    )

    def caseload_filters(self) -> dict[str, Any]:
        """The cleaned values in the units of the caseload's filters (apps.caseload.selectors.FILTERS), None where
        left empty."""
        data = self.cleaned_data
        adherence = data.get("adherence_below")
        ai_adherence = data.get("ai_adherence_below")
        calcium = data.get("calcium_below")
        return {
            "alert_level": data.get("alert_level") or None,
            "injection_state": data.get("injection_state") or None,
            "adherence_below": Decimal(adherence) / 100 if adherence is not None else None,
            "ai_adherence_below": Decimal(ai_adherence) / 100 if ai_adherence is not None else None,
            "calcium_below": Decimal(calcium) if calcium is not None else None,
            "exercise_below": data.get("exercise_below"),
        }


class CodeForm(forms.Form):
    """The 6-digit code an authenticator app shows (spaces ignored)."""

    code = forms.RegexField(
        label="Code from your authenticator app",
        regex=r"^\s*(\d\s*){6}$",
        max_length=20,
        error_messages={"invalid": "Enter the 6 digits your authenticator app shows now."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    # Where to go once verified: a console path only (checked in the view), so a forged post cannot send her away.
    next = forms.CharField(required=False, widget=forms.HiddenInput)
