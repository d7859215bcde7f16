"""Forged and bad form posts are refused with a clear message and change nothing; good ones do what they say.
Sign-in is for staff only; sign-out is a POST."""

import pytest
from django.test import Client

from apps.alerts.models import Alert, AlertEvent, AlertState
from apps.medications.models import ReviewDecision, ReviewStatus, Schedule
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert, make_high_finding_schedule
from tests.factories import PASSWORD, make_schedule


def resolve(client: Client, alert: Alert, note: str, *, next_page: str = "worklist"):
    prefix = str(alert.pk)
    return client.post(f"/console/alerts/{alert.pk}/resolve/", {f"{prefix}-note": note, f"{prefix}-next": next_page})


def decide(client: Client, schedule: Schedule, decision: str, note: str = ""):
    prefix = str(schedule.pk)
    return client.post(f"/console/reviews/{schedule.pk}/", {f"{prefix}-decision": decision, f"{prefix}-note": note})


def events(alert: Alert) -> list[str]:
    return list(AlertEvent.objects.filter(alert=alert).values_list("action", flat=True))


# --- alerts ----------------------------------------------------------------------------------------------------------
def test_resolving_with_a_note_resolves_and_returns_to_the_worklist(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    client = console_for(world.cora)
    response = resolve(client, alert, "Phoned Ann; injection booked for Monday.")
    assert response.status_code == 302 and response["Location"] == "/console/worklist/"
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_by, alert.resolution_note) == (
        AlertState.RESOLVED,
        world.cora,
        "Phoned Ann; injection booked for Monday.",
    )
    page = client.get("/console/worklist/").content.decode()
    assert "resolved" in page and "No open alerts" in page


def test_resolving_from_the_patient_page_returns_there(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    response = resolve(console_for(world.cora), alert, "Booked.", next_page="patient")
    assert response["Location"] == f"/console/patients/{world.ann.pk}/"


def test_an_empty_note_shows_the_error_on_the_form_and_changes_nothing(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    before = events(alert)
    response = resolve(console_for(world.cora), alert, "   ")
    assert response.status_code == 400
    page = response.content.decode()
    assert "a note is required to resolve an alert" in page
    assert 'class="field has-error"' in page  # beside the note field of that alert
    assert "Nothing was changed" in page
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN and events(alert) == before


def test_an_empty_note_on_the_patient_page_shows_the_error_there(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    response = resolve(console_for(world.cora), alert, "", next_page="patient")
    assert response.status_code == 400
    page = response.content.decode()
    assert "T-score trend by site" in page and "a note is required to resolve an alert" in page
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_another_organisations_alert_id_is_refused_and_unchanged(world: World, console_for) -> None:
    theirs = make_critical_denosumab_alert(world.zoe)
    before = events(theirs)
    for action in ("acknowledge", "resolve"):
        response = console_for(world.cora).post(
            f"/console/alerts/{theirs.pk}/{action}/", {f"{theirs.pk}-note": "forged"}
        )
        assert response.status_code == 404
        assert "not in your care" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.state == AlertState.OPEN and events(theirs) == before


def test_a_post_without_csrf_token_is_refused_with_a_clear_page(world: World) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cora)
    response = resolve(client, alert, "Phoned.")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your form was not accepted" in page and "nothing was changed" in page
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_a_post_with_the_pages_csrf_token_is_accepted(world: World) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.cora)
    page = client.get("/console/worklist/")
    token = page.context["csrf_token"]
    prefix = str(alert.pk)
    response = client.post(
        f"/console/alerts/{alert.pk}/acknowledge/",
        {"csrfmiddlewaretoken": token, f"{prefix}-note": "Left a voicemail.", f"{prefix}-next": "worklist"},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED


def test_resolving_twice_says_so_and_changes_nothing(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    client = console_for(world.cora)
    assert resolve(client, alert, "Done.").status_code == 302
    response = resolve(client, alert, "Again.")
    assert response.status_code == 400
    assert "already resolved" in response.content.decode()
    alert.refresh_from_db()
    assert alert.resolution_note == "Done."


def test_a_forged_next_value_cannot_redirect_elsewhere(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    response = resolve(console_for(world.cora), alert, "Done.", next_page="https://evil.example/")
    assert response.status_code == 400  # not one of the choices: refused, nothing resolved
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


# --- reviews ---------------------------------------------------------------------------------------------------------
def test_verifying_over_a_high_finding_needs_a_note(world: World, console_for) -> None:
    schedule = make_high_finding_schedule(world.ann)
    client = console_for(world.phil)
    response = decide(client, schedule, "verify")
    assert response.status_code == 400
    assert "say why it is safe to verify it" in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.review_status == ReviewStatus.PENDING
    assert not ReviewDecision.objects.exists()

    response = decide(client, schedule, "verify", "Alendronate stops today; denosumab replaces it.")
    assert response.status_code == 302 and response["Location"] == "/console/reviews/"
    schedule.refresh_from_db()
    assert schedule.review_status == ReviewStatus.VERIFIED
    decision = ReviewDecision.objects.get(schedule=schedule)
    assert decision.note == "Alendronate stops today; denosumab replaces it."
    assert "multiple_anti_resorptives" in {f["code"] for f in decision.findings}


def test_requesting_changes_without_a_note_is_refused(world: World, console_for) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    response = decide(console_for(world.phil), schedule, "request_changes", "")
    assert response.status_code == 400
    assert "a note is required" in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.review_status == ReviewStatus.PENDING


@pytest.mark.parametrize("decision", ["", "approve", "verify;drop"])
def test_an_unknown_decision_is_refused(world: World, console_for, decision: str) -> None:
    schedule = make_schedule(world.ann, "letrozole")
    response = decide(console_for(world.phil), schedule, decision, "note")
    assert response.status_code == 400
    schedule.refresh_from_db()
    assert schedule.review_status == ReviewStatus.PENDING


def test_another_organisations_schedule_is_refused_and_unchanged(world: World, console_for) -> None:
    theirs = make_schedule(world.zoe, "letrozole")
    response = decide(console_for(world.phil), theirs, "verify", "forged")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.review_status == ReviewStatus.PENDING


# --- sign-in, sign-out -----------------------------------------------------------------------------------------------
def test_staff_sign_in_lands_on_their_home(world: World) -> None:
    client = Client()
    response = client.post("/console/login/", {"username": " CORA@example.org ", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/console/worklist/"
    response = client.post("/console/login/", {"username": "phil@example.org", "password": PASSWORD})
    # Already signed in as Cora: the login page sends her home instead of switching silently.
    assert response.status_code == 302


def test_pharmacist_sign_in_lands_on_the_review_queue(world: World) -> None:
    client = Client()
    response = client.post("/console/login/", {"username": "phil@example.org", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/console/reviews/"


def test_patients_are_refused_at_sign_in_with_a_clear_message(world: World) -> None:
    client = Client()
    response = client.post("/console/login/", {"username": "ann@example.org", "password": PASSWORD})
    assert response.status_code == 200
    assert "Patients sign in with the BoneSync app on their phone" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_says_so(world: World) -> None:
    response = Client().post("/console/login/", {"username": "cora@example.org", "password": "wrong-password-1"})
    assert "do not match an account" in response.content.decode()


def test_sign_out_is_a_post(world: World, console_for) -> None:
    client = console_for(world.cora)
    assert client.get("/console/logout/").status_code == 405
    assert client.get("/console/worklist/").status_code == 200
    response = client.post("/console/logout/")
    assert response.status_code == 302 and response["Location"] == "/console/login/"
    assert client.get("/console/worklist/").status_code == 302


def test_sign_in_attempts_are_limited_like_the_apis(world: World) -> None:
    client = Client()
    statuses = [
        client.post("/console/login/", {"username": "cora@example.org", "password": f"guess-{n}-wrong"}).status_code
        for n in range(11)
    ]
    assert statuses[:10] == [200] * 10  # AUTH_THROTTLE_RATE: 10 a minute per client address
    assert statuses[10] == 429
    response = client.post("/console/login/", {"username": "cora@example.org", "password": PASSWORD})
    assert response.status_code == 429 and "Too many sign-in attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
