"""The contact loop in the console (issue 14, points 1, 2, 7): phone and preferred channel on the worklist and the
patient page, a contact attempt logged from the worklist (the alert then waits apart, until its date), the list's
search (accents and case ignored), filters and sort, the refreshable list fragment, and several alerts at once."""

import re
import uuid
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from apps.alerts.models import Alert, AlertState, ContactAttempt
from apps.alerts.services import alert_raise
from apps.profiles.models import PatientProfile
from backend import clock
from backend.models import AuditEvent
from tests.conftest import World
from tests.factories import CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db


def raise_alert(patient, severity: str = "high", kind: str = "test_alert") -> Alert:
    alert = alert_raise(
        patient=patient, kind=kind, severity=severity, message=f"{kind} ({severity})", episode=uuid.uuid4().hex
    )
    assert alert is not None
    return alert


def token(client: Client, url: str = "/console/worklist/") -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def section(page: str, heading: str) -> str:
    """The HTML of one worklist section, from its heading to the next section."""
    start = page.index(f">{heading}</h2>")
    end = page.find("</section>", start)
    return page[start:end]


def log_contact(client: Client, alert: Alert, **fields: str):
    prefix = f"c{alert.pk}"
    body = {"csrfmiddlewaretoken": token(client), f"{prefix}-next": "worklist"}
    body.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return client.post(f"/console/alerts/{alert.pk}/contacts/", body)


def test_worklist_shows_her_phone_and_preferred_channel(world: World, console_for) -> None:
    PatientProfile.objects.filter(pk=world.ann.pk).update(phone="+442079460123", preferred_channel="sms")
    raise_alert(world.ann)
    page = console_for(world.cora).get("/console/worklist/").content.decode()
    assert 'href="tel:+442079460123"' in page and "+44 20 7946 0123" in page
    assert "prefers text message" in page


def test_logging_two_attempts_with_a_follow_up_moves_the_alert_to_waiting(world: World, console_for) -> None:
    alert = raise_alert(world.ann)
    client = console_for(world.cora)
    first = log_contact(client, alert, channel="phone", outcome="no_answer", note="Rang twice")
    follow_up = clock.local_today("Europe/London") + timedelta(days=3)
    second = log_contact(
        client, alert, channel="sms", outcome="left_message", note="Asked her to ring back", follow_up_on=str(follow_up)
    )
    assert (first.status_code, second.status_code) == (302, 302)
    page = client.get("/console/worklist/").content.decode()
    waiting = section(page, "Waiting")
    assert f'data-alert="{alert.pk}"' in waiting
    assert f"Waiting until {follow_up:%-d %b %Y}" in waiting
    assert "2 attempts" in waiting and "Asked her to ring back" in waiting
    assert f'data-alert="{alert.pk}"' not in section(page, "Needs a call")
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    assert AuditEvent.objects.filter(actor=world.cora, resource="contact_attempt", action="create").count() == 2
    patient_page = client.get(f"/console/patients/{world.ann.pk}/").content.decode()
    history = patient_page[patient_page.index("Contact attempts") :]
    assert history.index("left a message") < history.index("no answer")  # newest first
    # The day comes (her local midnight): back on top, marked as a call back.
    with time_machine.travel(datetime.combine(follow_up, datetime.min.time(), tzinfo=clock.zone("Europe/London"))):
        page = console_for(world.cora).get("/console/worklist/").content.decode()  # a new session: hers expired
    active = section(page, "Needs a call")
    assert f'data-alert="{alert.pk}"' in active and "Call back: due" in active


def test_a_follow_up_in_the_past_is_refused_beside_the_field_and_nothing_is_logged(world: World, console_for) -> None:
    alert = raise_alert(world.ann)
    response = log_contact(
        console_for(world.cora), alert, channel="phone", outcome="no_answer", note="typed", follow_up_on="2020-01-01"
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Cannot be in the past" in page and "typed" in page  # the note she typed is still there
    assert not ContactAttempt.objects.exists()


def test_search_ignores_accents_and_case_and_filters_narrow(world: World, console_for) -> None:
    marta = PatientFactory.create(organisation=world.org_a, user__full_name="Marta Martínez")
    CareTeamFactory.create(patient=marta, staff=world.cora)
    raise_alert(marta, "urgent", kind="denosumab_late")
    raise_alert(world.ann, "low", kind="low_adherence")
    client = console_for(world.cora)
    for q in ("Martinez", "martinez", "MARTÍNEZ"):
        page = client.get("/console/worklist/", {"q": q}).content.decode()
        assert "Marta Martínez" in page and "Ann Archer" not in page, q
    page = client.get("/console/worklist/", {"level": "high"}).content.decode()
    assert "Marta Martínez" in page and "Ann Archer" not in page
    page = client.get("/console/worklist/", {"kind": "low_adherence"}).content.decode()
    assert "Ann Archer" in page and "Marta Martínez" not in page
    assert client.get("/console/worklist/", {"level": "nope"}).status_code == 400
    by_name = client.get("/console/worklist/", {"sort": "name"}).content.decode()
    assert by_name.index("Ann Archer") < by_name.index("Marta Martínez")
    by_urgency = client.get("/console/worklist/").content.decode()
    assert by_urgency.index("Marta Martínez") < by_urgency.index("Ann Archer")


def test_the_list_fragment_is_only_the_list_and_keeps_the_filters(world: World, console_for) -> None:
    raise_alert(world.ann)
    client = console_for(world.cora)
    response = client.get("/console/worklist/list/", {"q": "ann"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'id="worklist-list"' in fragment and "Ann Archer" in fragment
    assert "<html" not in fragment and "worklist-filters" not in fragment
    assert "Ann Archer" not in client.get("/console/worklist/list/", {"q": "zzz"}).content.decode()
    full = client.get("/console/worklist/").content.decode()
    assert 'src="/static/console/worklist.js"' in full


def test_acknowledge_several_at_once_and_out_of_scope_refuses_all(world: World, console_for) -> None:
    a, b = raise_alert(world.ann), raise_alert(world.ann, "low")
    theirs = raise_alert(world.zoe)
    client = console_for(world.cora)
    refused = client.post(
        "/console/alerts/bulk/",
        {"csrfmiddlewaretoken": token(client), "action": "acknowledge", "ids": [str(a.pk), str(theirs.pk)]},
    )
    assert refused.status_code == 404
    assert set(Alert.objects.values_list("state", flat=True)) == {AlertState.OPEN}
    done = client.post(
        "/console/alerts/bulk/",
        {"csrfmiddlewaretoken": token(client), "action": "acknowledge", "ids": [str(a.pk), str(b.pk)]},
        follow=True,
    )
    assert "2 alerts acknowledged" in done.content.decode()
    assert {x.state for x in Alert.objects.filter(pk__in=[a.pk, b.pk])} == {AlertState.ACKNOWLEDGED}
    no_note = client.post(
        "/console/alerts/bulk/",
        {"csrfmiddlewaretoken": token(client), "action": "resolve", "ids": [str(a.pk)]},
        follow=True,
    )
    assert "Nothing was changed" in no_note.content.decode()
    assert Alert.objects.get(pk=a.pk).state == AlertState.ACKNOWLEDGED


def test_contact_details_are_changed_on_the_patient_page(world: World, console_for) -> None:
    client = console_for(world.cora)
    url = f"/console/patients/{world.ann.pk}/contact/"
    page = client.get(f"/console/patients/{world.ann.pk}/").content.decode()
    assert "none on record" in page and "Save contact details" in page
    body = {
        "csrfmiddlewaretoken": token(client),
        "contact-phone": "+1 202 555 0143",
        "contact-preferred_channel": "phone",
    }
    response = client.post(url, body, follow=True)
    assert "Contact details saved" in response.content.decode()
    profile = PatientProfile.objects.get(pk=world.ann.pk)
    assert (str(profile.phone), profile.preferred_channel) == ("+12025550143", "phone")
    bad = client.post(url, {**body, "contact-phone": "12345"}, follow=True)
    assert "Nothing was changed" in bad.content.decode()
    assert str(PatientProfile.objects.get(pk=world.ann.pk).phone) == "+12025550143"
    assert console_for(world.phil).post(url, body).status_code == 403
    assert console_for(world.zed).post(url, body).status_code == 404
    phil_page = console_for(world.phil).get(f"/console/patients/{world.ann.pk}/").content.decode()
    assert "+1 202-555-0143" in phil_page and "Save contact details" not in phil_page


def test_follow_up_dates_are_her_local_dates(world: World, console_for) -> None:
    """Late evening in London is already tomorrow in Auckland: "today" for the follow-up is hers."""
    PatientProfile.objects.filter(pk=world.ann.pk).update(timezone="Pacific/Auckland")
    alert = raise_alert(world.ann)
    with time_machine.travel(datetime(2026, 7, 1, 20, 0, tzinfo=clock.zone("Europe/London"))):  # 2 July in NZ
        response = log_contact(
            console_for(world.cora), alert, channel="phone", outcome="no_answer", follow_up_on="2026-07-01"
        )
    assert response.status_code == 400
    assert not ContactAttempt.objects.exists()
    assert date(2026, 7, 2)  # her today, in the message
    assert "02 July 2026" in response.content.decode()


def test_refused_forms_on_the_patient_page_keep_what_was_typed(world: World, console_for) -> None:
    """A typo on the patient page comes back on that page, 400, with the error beside the field and the rest of
    what she typed still there, rather than a redirect to an empty form."""
    client = console_for(world.cora)
    details = client.post(
        f"/console/patients/{world.ann.pk}/contact/",
        {"csrfmiddlewaretoken": token(client), "contact-phone": "12345", "contact-preferred_channel": "sms"},
    )
    assert details.status_code == 400
    page = details.content.decode()
    assert 'value="12345"' in page and 'value="sms" selected' in page
    assert re.search(r'<details class="contact-details-form" open>', page)
    assert 'class="field has-error"' in page
    assert not PatientProfile.objects.get(pk=world.ann.pk).phone

    alert = raise_alert(world.ann)
    prefix = f"c{alert.pk}"
    note = "Left a message with her daughter, will call again"
    attempt = client.post(
        f"/console/alerts/{alert.pk}/contacts/",
        {
            "csrfmiddlewaretoken": token(client),
            f"{prefix}-next": "patient",
            f"{prefix}-channel": "phone",
            f"{prefix}-outcome": "no_answer",
            f"{prefix}-note": note,
            f"{prefix}-follow_up_on": "2001-01-01",
        },
    )
    assert attempt.status_code == 400
    page = attempt.content.decode()
    assert note in page and "Nothing was logged" in page
    assert not ContactAttempt.objects.exists()
