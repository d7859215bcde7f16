"""The project's URLs plus a test-only control endpoint the Node conformance suite calls to act as "the server side"
(set up patients, change or delete rows as the care team would). Only mounted by tests/sync/test_watermelondb_client.py.
"""

import json
import uuid
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework_simplejwt.tokens import RefreshToken

from apps.medications.models import DoseRecord
from apps.medications.services import dose_correct
from apps.reminders.materialise import materialise
from apps.sync.registry import TABLES
from backend.sync_versions import PULL_RETENTION, prune_pulls
from config.urls import urlpatterns as project_urls
from tests.factories import CareTeamFactory, OrganisationFactory, PatientFactory, UserFactory, make_dose, make_schedule
from tests.supplements.factories import make_intake


def _schema() -> dict[str, list[dict[str, Any]]]:
    return {
        table.name: [{"name": c.name, "type": c.codec.kind, "isOptional": c.codec.nullable} for c in table.columns]
        for table in TABLES
    }


def _patient(name: str, coordinator: Any) -> dict[str, Any]:
    patient = PatientFactory.create(
        organisation=coordinator.organisation, user__email=f"{name}-{uuid.uuid4().hex[:8]}@example.org"
    )
    CareTeamFactory.create(patient=patient, staff=coordinator)
    schedule = make_schedule(patient, code="letrozole")
    doses = [make_dose(patient, schedule, taken_at=timezone.now() - timedelta(days=d)) for d in (1, 2, 3)]
    make_intake(patient)
    materialise(patient_ids=[patient.pk])
    return {
        "token": str(RefreshToken.for_user(patient.user).access_token),
        "patient_id": str(patient.id),
        "schedule_id": str(schedule.id),
        "dose_ids": [str(d.id) for d in doses],
    }


@csrf_exempt
def control(request: HttpRequest, action: str) -> JsonResponse:
    data = json.loads(request.body or b"{}")
    if action == "setup":
        organisation = OrganisationFactory.create(name=f"Clinic {uuid.uuid4().hex[:8]}")
        coordinator = UserFactory.create(organisation=organisation, email=f"cora-{uuid.uuid4().hex[:8]}@example.org")
        return JsonResponse(
            {"schema": _schema(), "ann": _patient("ann", coordinator), "bea": _patient("bea", coordinator)}
        )
    if action == "prune":  # every timestamp issued so far is forgotten (as if 90 days passed)
        return JsonResponse({"pruned": prune_pulls(now=timezone.now() + PULL_RETENTION + timedelta(days=1))})
    dose = DoseRecord.objects.select_related("patient").filter(pk=data["dose_id"]).first()
    if dose is None:
        return JsonResponse({"error": "no such dose"}, status=404)
    if action == "change":  # the clinic corrects a dose (the REST PATCH's service)
        coordinator = dose.patient.care_team.first().staff  # type: ignore[union-attr]
        dose_correct(actor=coordinator, dose=dose, note=data["note"])
        return JsonResponse({"ok": True})
    if action == "delete":
        DoseRecord.objects.filter(pk=dose.pk).delete()
        return JsonResponse({"ok": True})
    if action == "read":
        return JsonResponse({"note": dose.note, "patient_id": str(dose.patient_id)})
    return JsonResponse({"error": action}, status=404)


urlpatterns = [*project_urls, path("test-control/<str:action>/", control)]
