"""Every console page for every role: anonymous users sign in first, patients are refused, staff see only their
scope (another organisation's or an unassigned patient's ids answer 404), and each page view is audit-logged.

The cases below are checked against the URL conf, so a new console route without a case fails here."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver

from apps.accounts.models import Patient
from apps.alerts.models import Alert, AlertState, ContactAttempt
from apps.medications.models import ReviewStatus, Schedule
from backend.models import AuditEvent
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert
from tests.factories import make_schedule


def _actor(world: World, name: str) -> Any:
    value = getattr(world, name)
    return value.user if isinstance(value, Patient) else value


@pytest.fixture
def ids(world: World) -> dict[str, str]:
    alert = make_critical_denosumab_alert(world.ann)
    schedule = make_schedule(world.ann, "alendronate")
    appointment = make_appointment(world.ann, schedule=alert.schedule)
    return {
        "alert": str(alert.pk),
        "schedule": str(schedule.pk),
        "patient": str(world.ann.pk),
        "appointment": str(appointment.pk),
    }


# (url name, method, path template, {who: expected status}); "anon" is a visitor who has not signed in.
PATIENT_REFUSED = {"ann": 403, "bea": 403}
CASES: list[tuple[str, str, str, dict[str, int]]] = [
    ("home", "get", "/console/", {"anon": 302, **PATIENT_REFUSED, "cora": 302, "phil": 302, "admin": 302}),
    ("login", "get", "/console/login/", {"anon": 200}),
    ("logout", "post", "/console/logout/", {"anon": 302, "cora": 302}),
    # Forgot your password? (issue 17): public pages; the set page without a link's token in the session says so.
    ("password_reset", "get", "/console/password-reset/", {"anon": 200, "ann": 200, "cora": 200}),
    ("password_reset_set", "get", "/console/password-reset/set/", {"anon": 200, "cora": 200}),
    ("password_reset_link", "get", "/console/password-reset/some-token/", {"anon": 302, "phil": 302}),
    # The second factor's pages (tests/console/test_second_factor.py has them with STAFF_MFA_REQUIRED on): here, in
    # development, staff may set up an app (optional) and are sent to do so when they open the code page without one.
    ("mfa_enrol", "get", "/console/second-factor/enrol/", {"anon": 302, **PATIENT_REFUSED, "cora": 200, "phil": 200}),
    ("mfa_verify", "get", "/console/second-factor/", {"anon": 302, **PATIENT_REFUSED, "cora": 302, "admin": 302}),
    (
        "worklist",
        "get",
        "/console/worklist/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "cody": 200, "zed": 200, "admin": 200, "phil": 403},
    ),
    (
        "alert_acknowledge",
        "post",
        "/console/alerts/{alert}/acknowledge/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "pia": 403, "cora": 302},
    ),
    (
        "alert_resolve",
        "post",
        "/console/alerts/{alert}/resolve/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "cora": 400, "admin": 400},
    ),
    (
        "patients",
        "get",
        "/console/patients/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "cody": 200, "phil": 200, "zed": 200, "pia": 200, "admin": 200},
    ),
    (
        "patient",
        "get",
        "/console/patients/{patient}/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "phil": 200, "admin": 200, "cody": 404, "zed": 404, "pia": 404},
    ),
    (
        "reviews",
        "get",
        "/console/reviews/",
        {"anon": 302, **PATIENT_REFUSED, "phil": 200, "pia": 200, "admin": 200, "cora": 403, "zed": 403},
    ),
    (
        "review_decide",
        "post",
        "/console/reviews/{schedule}/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 403, "pia": 404, "phil": 400, "admin": 400},
    ),
    (
        "rules",
        "get",
        "/console/rules/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "cody": 200, "phil": 200, "zed": 200, "pia": 200, "admin": 200},
    ),
    (
        "patient_summary",
        "get",
        "/console/patients/{patient}/summary/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "phil": 200, "admin": 200, "cody": 404, "zed": 404, "pia": 404},
    ),
    (  # issue 14: verify several schedules without findings (an empty post chooses none: 400, nothing written)
        "review_verify_many",
        "post",
        "/console/reviews/verify/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 403, "zed": 403, "phil": 400, "pia": 400, "admin": 400},
    ),
    (
        "booking_list",
        "get",
        "/console/booking-list/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "cody": 200, "zed": 200, "admin": 200, "phil": 403},
    ),
    (
        "appointment_book",
        "post",
        "/console/patients/{patient}/appointments/new/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "cora": 400, "admin": 400},
    ),
    (
        "appointment_given",
        "post",
        "/console/appointments/{appointment}/given/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "pia": 403, "cora": 400},
    ),
    (
        "appointment_cancel",
        "post",
        "/console/appointments/{appointment}/cancel/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "cora": 400, "admin": 400},
    ),
    # The contact loop (issue 14). An empty post: a contact attempt needs channel and outcome (400); ticking no
    # alert is refused with a message (back to the worklist); empty contact details clear them (back to her page).
    (
        "worklist_list",
        "get",
        "/console/worklist/list/",
        {"anon": 302, **PATIENT_REFUSED, "cora": 200, "cody": 200, "zed": 200, "admin": 200, "phil": 403},
    ),
    (
        "alert_contact",
        "post",
        "/console/alerts/{alert}/contacts/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "pia": 403, "cora": 400, "admin": 400},
    ),
    ("alerts_bulk", "post", "/console/alerts/bulk/", {"anon": 302, **PATIENT_REFUSED, "phil": 403, "cora": 302}),
    (
        "patient_contact",
        "post",
        "/console/patients/{patient}/contact/",
        {"anon": 302, **PATIENT_REFUSED, "cody": 404, "zed": 404, "phil": 403, "pia": 403, "cora": 302, "admin": 302},
    ),
    ("unknown", "get", "/console/no-such-page/", {"anon": 302, "cora": 404, "phil": 404}),
]
FLAT = [(name, method, path, who, status) for name, method, path, by_who in CASES for who, status in by_who.items()]


def test_every_console_route_has_cases() -> None:
    names = {name for name, *_ in CASES}
    console = get_resolver().namespace_dict["console"][1]
    console_names = {getattr(pattern, "name", None) for pattern in console.url_patterns}
    assert console_names == names, f"console routes without access cases: {console_names - names}"


@pytest.mark.parametrize(("name", "method", "path", "who", "status"), FLAT, ids=[f"{c[0]}-{c[3]}" for c in FLAT])
def test_access(world: World, ids: dict[str, str], console_for, name, method, path, who, status) -> None:
    client = Client() if who == "anon" else console_for(_actor(world, who))
    # Empty posts: the right user gets a validation answer (400) and nothing changes; the wrong one 403/404.
    response = getattr(client, method)(path.format(**ids), {})
    assert response.status_code == status, response.content[:300]
    if status == 302 and who == "anon" and name not in {"logout", "password_reset_link"}:
        assert response["Location"].startswith("/console/login/")
    if status in (403, 404) and who != "anon":
        assert response["Content-Type"].startswith("text/html")
    if status == 404:
        assert b"not in your care" in response.content or b"nothing here" in response.content
    if name == "alert_contact":
        assert not ContactAttempt.objects.exists()
    if name in {"alert_acknowledge", "alert_resolve", "alerts_bulk"} and who != "cora":
        assert Alert.objects.get(pk=ids["alert"]).state == AlertState.OPEN
    if name in {"review_decide", "review_verify_many"}:  # the schedule stays pending whoever posts an empty form
        assert Schedule.objects.get(pk=ids["schedule"]).review_status == ReviewStatus.PENDING


def test_patients_are_refused_with_a_clear_message(world: World, console_for) -> None:
    response = console_for(world.ann.user).get("/console/patients/")
    assert response.status_code == 403
    assert "Patients sign in with the BoneSync app" in response.content.decode()


def test_patient_page_view_is_audit_logged(world: World, console_for) -> None:
    response = console_for(world.cora).get(f"/console/patients/{world.ann.pk}/")
    assert response.status_code == 200
    event = AuditEvent.objects.get(patient_id=world.ann.pk)
    assert (event.actor, event.action, event.resource, event.method) == (world.cora, "read", "console_patient", "GET")
    assert event.path == f"/console/patients/{world.ann.pk}/"


def test_out_of_scope_patient_page_is_logged_as_denied_and_shows_nothing(world: World, console_for) -> None:
    response = console_for(world.zed).get(f"/console/patients/{world.ann.pk}/")
    assert response.status_code == 404
    assert "Ann" not in response.content.decode()
    assert not AuditEvent.objects.filter(patient_id=world.ann.pk).exists()  # nothing about her
    denied = AuditEvent.objects.get(action="denied")
    assert (denied.actor, denied.resource, denied.object_id, denied.path) == (
        world.zed,
        "patient",
        str(world.ann.pk),
        f"/console/patients/{world.ann.pk}/",
    )


def test_list_pages_log_the_patients_they_show_or_the_view_itself(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    assert console_for(world.cora).get("/console/worklist/").status_code == 200
    assert AuditEvent.objects.filter(
        actor=world.cora, resource="console_worklist", patient_id=alert.patient_id
    ).exists()
    assert console_for(world.cody).get("/console/worklist/").status_code == 200  # nothing assigned to Cody
    assert AuditEvent.objects.filter(actor=world.cody, resource="console_worklist", patient_id=None).count() == 1
    assert console_for(world.phil).get("/console/patients/").status_code == 200
    assert set(
        AuditEvent.objects.filter(actor=world.phil, resource="console_patients").values_list("patient_id", flat=True)
    ) == {world.ann.pk, world.bea.pk}


def test_anonymous_is_sent_to_sign_in_and_back(world: World) -> None:
    response = Client().get(f"/console/patients/{world.ann.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/console/login/?next=/console/patients/{world.ann.pk}/"


@pytest.mark.parametrize("url", ["/console/login/", "/console/worklist/", "/console/rules/", "/console/no-such-page/"])
def test_pages_load_nothing_from_elsewhere_and_are_not_cached(world: World, console_for, url: str) -> None:
    response = console_for(world.cora).get(url) if "login" not in url else Client().get(url)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"
    # Nothing fetched or linked from elsewhere (an identifier URI quoted as text, as the rulebook's FHIR code systems
    # are, is not a resource the page loads).
    assert not re.search(rb"""(?:src|href|action|srcset|data)\s*=\s*["']?\s*(?:https?:)?//""", response.content)
    assert not re.search(rb"url\(\s*[\"']?(?:https?:)?//", response.content)
