"""In the Django admin, a saved row of a patient's data keeps its patient: every admin of a patient-owned model
shows `patient` read-only once the row exists (a moved row would never reach either patient's app correctly)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from apps.accounts.models import Patient

OWNED = [
    model_admin
    for model, model_admin in admin.site._registry.items()
    if any(f.name == "patient" and f.related_model is Patient for f in model._meta.concrete_fields)
]


def test_the_patient_owned_admins_are_found() -> None:
    names = {type(a).__name__ for a in OWNED}
    assert {"DoseRecordAdmin", "ScheduleAdmin", "ExerciseSessionAdmin", "BoneDensityResultAdmin"} <= names


@pytest.mark.parametrize("model_admin", OWNED, ids=lambda a: type(a).__name__)
def test_a_saved_rows_patient_is_read_only(model_admin: admin.ModelAdmin) -> None:
    request = RequestFactory().get("/admin/")
    assert "patient" in model_admin.get_readonly_fields(request, obj=model_admin.model())
    assert "patient" not in model_admin.get_readonly_fields(request, obj=None)  # chosen when adding
