"""Template helpers for the contact loop (issue 14): labels of channels and outcomes, the contact form of an alert
on the patient page, and the patient page's contact card (details, their form, her contact history)."""

from typing import Any

from django import template

from apps.accounts.models import Patient
from apps.alerts.models import Alert, ContactOutcome
from apps.console.contact_forms import ContactDetailsForm, ContactForm
from apps.console.selectors import contact_history
from apps.profiles.models import ContactChannel

register = template.Library()


@register.filter
def channel_label(value: str | None) -> str:
    return str(ContactChannel(value).label) if value in ContactChannel.values else ""


@register.filter
def outcome_label(value: str | None) -> str:
    return str(ContactOutcome(value).label) if value in ContactOutcome.values else ""


@register.inclusion_tag("console/contact_form.html", takes_context=True)
def contact_form_for(context: template.Context, alert: Alert, next_page: str = "patient") -> dict[str, Any]:
    refused = (context.get("contact_bound") or {}).get(alert.pk)  # a refused attempt keeps what was typed
    return {
        "alert": alert,
        "form": refused or ContactForm(initial={"next": next_page}, prefix=f"c{alert.pk}"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("console/patient_contact.html", takes_context=True)
def contact_card(context: template.Context, patient: Patient) -> dict[str, Any]:
    profile = patient.profile
    return {
        "patient": patient,
        "profile": profile,
        "history": contact_history(patient=patient),
        "can_edit": context.get("can_act_on_alerts", False),
        "form": context.get("contact_details_bound")
        or ContactDetailsForm(
            initial={
                "phone": profile.phone,
                "phone_alt": profile.phone_alt,
                "preferred_channel": profile.preferred_channel,
            },
            prefix="contact",
        ),
        "csrf_token": context.get("csrf_token"),
    }
