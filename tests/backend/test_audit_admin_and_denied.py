"""The audit log sees the Django admin, and refused lookups (issue 12, finding 13).

Reading or changing a patient's data in the Django admin is written like the API's and the console's reads and writes;
a lookup the access functions refuse (another patient's id: a 404) is written as `denied` with the id asked for and
nothing about the target; a burst of refusals from one account raises a signal an admin sees."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib import admin
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Patient, User
from apps.profiles.models import BoneDensityResult
from backend.admin import AuditedPatientAdmin
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import BoneDensityFactory

AUDIT = "/api/v1/audit-events/"


def admin_client(world: World) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


def events(**filters: Any) -> list[tuple[Any, ...]]:
    rows = AuditEvent.objects.filter(**filters).order_by("id")
    return list(rows.values_list("actor_id", "action", "resource", "patient_id", "object_id"))


# --- the Django admin ------------------------------------------------------------------------------------------------
def test_every_admin_of_patient_data_is_audited() -> None:
    def reaches_patient(model: Any, depth: int = 0) -> bool:
        if model is Patient:
            return True
        if depth == 2:
            return False
        return any(
            f.related_model is not None and reaches_patient(f.related_model, depth + 1)
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is not User
        )

    holding = {m for m in admin.site._registry if m in (Patient, User) or reaches_patient(m)}
    assert {m.__name__ for m in holding} >= {"Patient", "User", "DoseRecord", "Schedule", "ReviewDecision", "Alert"}
    unaudited = [m.__name__ for m in holding if not isinstance(admin.site._registry[m], AuditedPatientAdmin)]
    assert unaudited == []


def test_an_admin_list_page_logs_each_patient_on_it(world: World) -> None:
    BoneDensityFactory.create(patient=world.ann)
    BoneDensityFactory.create(patient=world.zoe)
    response = admin_client(world).get("/admin/profiles/bonedensityresult/")
    assert response.status_code == 200
    assert sorted(events(resource="admin_bonedensityresult"), key=str) == sorted(
        [
            (world.admin.id, "list", "admin_bonedensityresult", world.ann.id, ""),
            (world.admin.id, "list", "admin_bonedensityresult", world.zoe.id, ""),
        ],
        key=str,
    )


def test_an_empty_admin_list_is_logged_once_without_a_patient(world: World) -> None:
    assert admin_client(world).get("/admin/profiles/labresult/").status_code == 200
    assert events(resource="admin_labresult") == [(world.admin.id, "list", "admin_labresult", None, "")]


def test_opening_changing_adding_and_deleting_in_the_admin_are_logged(world: World) -> None:
    client = admin_client(world)
    result = BoneDensityFactory.create(patient=world.ann)
    url = f"/admin/profiles/bonedensityresult/{result.pk}/change/"

    assert client.get(url).status_code == 200
    changed = client.post(url, {"measured_on": "2025-01-11", "site": "lumbar_spine", "t_score": "-1.3"})
    assert changed.status_code == 302, changed.content
    added = client.post(
        "/admin/profiles/bonedensityresult/add/",
        {"patient": world.bea.pk, "measured_on": "2025-02-01", "site": "femoral_neck", "t_score": "-2.0"},
    )
    assert added.status_code == 302, added.content
    new = BoneDensityResult.objects.get(patient=world.bea)
    delete_url = f"/admin/profiles/bonedensityresult/{result.pk}/delete/"
    assert client.get(delete_url).status_code == 200  # the confirmation page shows the row
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    bulk = client.post(
        "/admin/profiles/bonedensityresult/",
        {"action": "delete_selected", "_selected_action": [str(new.pk)], "post": "yes"},
    )
    assert bulk.status_code == 302

    logged = [e for e in events(resource="admin_bonedensityresult") if e[1] != "list"]
    r, n = str(result.pk), str(new.pk)
    assert logged == [
        (world.admin.id, "read", "admin_bonedensityresult", world.ann.id, r),
        (world.admin.id, "update", "admin_bonedensityresult", world.ann.id, r),
        (world.admin.id, "create", "admin_bonedensityresult", world.bea.id, n),
        (world.admin.id, "read", "admin_bonedensityresult", world.ann.id, r),
        (world.admin.id, "delete", "admin_bonedensityresult", world.ann.id, r),
        (world.admin.id, "delete", "admin_bonedensityresult", world.bea.id, n),
    ]


def test_a_patients_own_admin_page_and_her_login_are_logged(world: World) -> None:
    client = admin_client(world)
    assert client.get(f"/admin/accounts/patient/{world.ann.pk}/change/").status_code == 200
    assert client.get(f"/admin/accounts/user/{world.ann.user.pk}/change/").status_code == 200
    assert client.get(f"/admin/accounts/user/{world.cora.pk}/change/").status_code == 200  # staff: no patient
    assert events(action="read") == [
        (world.admin.id, "read", "admin_patient", world.ann.id, str(world.ann.pk)),
        (world.admin.id, "read", "admin_user", world.ann.id, str(world.ann.user.pk)),
    ]
    assert client.get("/admin/accounts/user/").status_code == 200
    listed = {e[3] for e in events(resource="admin_user", action="list")}
    assert listed == {world.ann.id, world.bea.id, world.zoe.id}


# --- refused lookups -------------------------------------------------------------------------------------------------
def test_a_refused_patient_id_is_logged_as_denied_without_the_targets_data(world: World, client_for) -> None:
    response = client_for(world.cora).get(f"/api/v1/patients/{world.zoe.id}/bone-density/")
    missing = client_for(world.cora).get("/api/v1/patients/00000000-0000-0000-0000-000000000001/")
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()  # the caller still cannot tell another patient from none

    event = AuditEvent.objects.filter(action="denied").order_by("id").first()
    assert event is not None
    assert (event.actor_id, event.actor_role, event.resource, event.object_id, event.patient_id) == (
        world.cora.id,
        "coordinator",
        "patient",
        str(world.zoe.id),
        None,  # nothing about the target: not even whose id it was
    )
    assert (event.method, event.path) == ("GET", f"/api/v1/patients/{world.zoe.id}/bone-density/")
    assert AuditEvent.objects.filter(action="denied").count() == 2
    assert not AuditEvent.objects.exclude(action="denied").exists()  # and no read was recorded


def test_an_unassigned_coordinator_and_other_records_are_denied_too(world: World, client_for) -> None:
    from tests.console.conftest import make_critical_denosumab_alert

    alert = make_critical_denosumab_alert(world.ann)
    AuditEvent.objects.all().delete()
    assert client_for(world.cody).get(f"/api/v1/patients/{world.ann.id}/").status_code == 404
    assert client_for(world.zed).post(f"/api/v1/alerts/{alert.id}/acknowledge/", {}, format="json").status_code == 404
    assert events(action="denied") == [
        (world.cody.id, "denied", "patient", None, str(world.ann.id)),
        (world.zed.id, "denied", "alert", None, str(alert.id)),
    ]


def test_the_console_logs_a_refused_page_as_denied(world: World) -> None:
    client = Client()
    client.force_login(world.zed)
    response = client.get(f"/console/patients/{world.ann.pk}/")
    assert response.status_code == 404
    assert "Ann" not in response.content.decode()
    assert events() == [(world.zed.id, "denied", "patient", None, str(world.ann.pk))]


def test_a_care_team_change_for_another_organisations_patient_is_denied(world: World, client_for) -> None:
    response = client_for(world.zed).post(
        "/api/v1/care-team/", {"patient": str(world.ann.id), "staff": str(world.zed.id)}, format="json"
    )
    assert response.status_code == 400
    assert events() == [(world.zed.id, "denied", "patient", None, str(world.ann.id))]


def test_a_burst_of_refusals_raises_one_signal_per_window(
    world: World, client_for, settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.AUDIT_DENIED_BURST = 20
    settings.AUDIT_DENIED_WINDOW_MINUTES = 10
    zed = client_for(world.zed)
    start = timezone.now()

    def probe(at: Any) -> None:
        with time_machine.travel(at, tick=False):
            assert zed.get(f"/api/v1/patients/{world.ann.id}/").status_code == 404

    caplog.set_level(logging.WARNING, logger="backend.audit")
    probe(start - timedelta(minutes=10, seconds=1))  # outside the window by a second when the 20th comes
    for _ in range(18):
        probe(start)
    assert not AuditEvent.objects.filter(action="burst").exists()  # 19 refusals, one of them too old: 18 in window
    probe(start)  # 19 in the window
    assert not AuditEvent.objects.filter(action="burst").exists()
    probe(start)  # the 20th within 10 minutes
    burst = AuditEvent.objects.get(action="burst")
    assert (burst.actor_id, burst.resource, burst.object_id, burst.patient_id) == (world.zed.id, "access", "20", None)
    assert [r.levelname for r in caplog.records if "Burst of refused lookups" in r.getMessage()] == ["WARNING"]
    probe(start)  # the 21st: the same burst, no second signal
    assert AuditEvent.objects.filter(action="burst").count() == 1

    # The admin sees it over the API (and in the Django admin's audit list, filtered by action).
    admin_api = client_for(world.admin)
    bursts = admin_api.get(AUDIT, {"action": "burst"}).json()["results"]
    assert [(b["actor"], b["object_id"]) for b in bursts] == [(str(world.zed.id), "20")]
    denied = admin_api.get(AUDIT, {"action": "denied", "actor": str(world.zed.id)}).json()
    assert denied["count"] == 22  # every refusal, the one outside the window too
    assert admin_admin_page_shows_burst(world)
    assert client_for(world.zed).get(AUDIT, {"action": "burst"}).status_code == 403


def admin_admin_page_shows_burst(world: World) -> bool:
    response = admin_client(world).get("/admin/backend/auditevent/", {"action__exact": "burst"})
    page = response.content.decode()
    return response.status_code == 200 and "Burst of refused lookups" in page and 'field-object_id">20<' in page


def test_an_unknown_action_filter_is_a_400(world: World, client_for) -> None:
    response = client_for(world.admin).get(AUDIT, {"action": "peek"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"action"}


def test_another_patients_record_under_her_own_url_is_denied_a_vanished_one_is_not(world: World, client_for) -> None:
    from tests.factories import make_schedule

    zoes = make_schedule(world.zoe)
    ann = client_for(world.ann.user)
    stolen = ann.get(f"/api/v1/patients/{world.ann.id}/schedules/{zoes.id}/")
    vanished = ann.get(f"/api/v1/patients/{world.ann.id}/schedules/00000000-0000-0000-0000-0000000000aa/")
    assert stolen.status_code == vanished.status_code == 404
    assert stolen.json() == vanished.json()
    assert events(action="denied") == [(world.ann.user.id, "denied", "schedule", None, str(zoes.id))]
    assert not AuditEvent.objects.filter(patient_id=world.zoe.id).exists()
