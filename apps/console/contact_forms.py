"""Console forms for the coordinator's contact loop (issue 14): the worklist's filters, a contact attempt, several
alerts at once, a patient's contact details. The rules (a follow-up not in the past, a valid phone number, a note to
resolve) stay in the services; the views turn their ValidationError into errors on these forms."""

from typing import Any

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from apps.alerts.kinds import kind_label
from apps.alerts.models import ContactOutcome, Severity
from apps.alerts.selectors import SORTS
from apps.console.forms import RETURN_TO
from apps.profiles.models import ContactChannel

LEVELS = [("", "any"), *((s.value, f"{s.label} or higher") for s in reversed(Severity))]
WAITING = [("", "both"), ("no", "needing a call"), ("yes", "waiting")]
SORT_LABELS = {"urgency": "most urgent first", "oldest": "oldest first", "newest": "newest first", "name": "name"}


class WorklistFilterForm(forms.Form):
    q = forms.CharField(label="Patient name or email", max_length=200, required=False)
    level = forms.ChoiceField(label="Level", choices=LEVELS, required=False)
    kind = forms.ChoiceField(label="Kind", choices=[("", "any")], required=False)
    waiting = forms.ChoiceField(label="Show", choices=WAITING, required=False)
    sort = forms.ChoiceField(label="Patients", choices=[(s, SORT_LABELS[s]) for s in SORTS], required=False)

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [("", "any"), *((k, kind_label(k)) for k in kinds or [])]


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label="How", choices=ContactChannel.choices)
    outcome = forms.ChoiceField(label="Outcome", choices=ContactOutcome.choices)
    note = forms.CharField(  # not labelled "Note": that is the resolve note beside it
        label="What happened", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 30})
    )
    follow_up_on = forms.DateField(
        label="Try again on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Her local date; the alert waits until then.",
    )
    next = forms.ChoiceField(choices=RETURN_TO, required=False, widget=forms.HiddenInput)


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("acknowledge", "Acknowledge"), ("resolve", "Resolve")])
    note = forms.CharField(label="Note (needed to resolve)", max_length=2000, required=False)
    ids = forms.TypedMultipleChoiceField(choices=[], coerce=str, required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = self.fields["ids"]
        assert isinstance(ids, forms.TypedMultipleChoiceField)
        getlist = getattr(self.data, "getlist", None)  # a QueryDict when bound to a post
        ids.choices = [(v, v) for v in getlist("ids")] if getlist else []
        ids.error_messages["required"] = "Tick at least one alert."


class ContactDetailsForm(forms.Form):
    phone = PhoneNumberField(
        label="Main phone", required=False, help_text="With its country code, e.g. +44 20 7946 0123."
    )
    phone_alt = PhoneNumberField(label="Other phone", required=False)
    preferred_channel = forms.ChoiceField(
        label="Prefers", choices=[("", "not known"), *ContactChannel.choices], required=False
    )
