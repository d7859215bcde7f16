"""The contact loop in a real browser (issue 14, point 11): a coordinator logs two contact attempts on the worklist,
the second with a follow-up date; the alert waits apart ("Waiting until ..."), and comes back on top, marked as a
call back, once that date begins in the patient's zone (time moved in the server process). The list refreshes
itself without losing a note being typed. Screenshots at desktop width and at 390 px."""

from datetime import datetime

import pytest
import time_machine
from playwright.sync_api import Page, expect

from apps.alerts.services import alert_raise
from apps.profiles.models import PatientProfile
from backend import clock
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert
from tests.console.test_browser import ARTIFACTS, sign_in
from tests.factories import CareTeamFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
LONDON = clock.zone("Europe/London")
EVENING = datetime(2026, 10, 24, 19, 30, tzinfo=LONDON)  # Saturday; the clocks go back that night
HER_NEXT_DAY = datetime(2026, 10, 25, 0, 0, 30, tzinfo=LONDON)


def shots(page: Page, name: str, *, no_sideways_scroll: bool = False) -> None:
    for width, suffix in ((1366, "desktop"), (390, "390")):
        page.set_viewport_size({"width": width, "height": 900})
        if no_sideways_scroll:  # measured from the page: nothing wider than the window
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width}"
        path = ARTIFACTS / f"{name}-{suffix}.png"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_two_contact_attempts_then_the_alert_waits_and_comes_back(world: World, live_server, page: Page) -> None:
    with time_machine.travel(EVENING, tick=True):
        PatientProfile.objects.filter(pk=world.ann.pk).update(phone="+442079460123", preferred_channel="phone")
        critical = make_critical_denosumab_alert(world.ann)
        rosa = PatientFactory.create(organisation=world.org_a, user__full_name="Rosa Martínez")
        CareTeamFactory.create(patient=rosa, staff=world.cora)
        alert_raise(
            patient=rosa, kind="low_adherence", severity="high", message="Adherence 62% over 90 days.", episode="e1"
        )
        sign_in(page, live_server.url, "cora@example.org")
        expect(page.get_by_role("heading", name="Worklist", level=1)).to_be_visible()
        row = page.locator(f"tr[data-alert='{critical.pk}']")
        expect(page.locator(f"tr.patient-group[data-patient='{world.ann.pk}']")).to_contain_text("+44 20 7946 0123")

        # First try: no answer.
        row.get_by_text("Log a contact").click()
        row.get_by_label("How").select_option("phone")
        row.get_by_label("Outcome").select_option("no_answer")
        row.get_by_label("What happened").fill("Rang at 19:30, no answer.")
        row.get_by_role("button", name="Log contact").click()
        expect(page.locator(".messages")).to_contain_text("Phone call, No answer")
        expect(row.locator("td.last-contact")).to_contain_text("no answer")

        # Second try: a text, and call again tomorrow (her date).
        row.get_by_text("Log a contact").click()
        row.get_by_label("How").select_option("sms")
        row.get_by_label("Outcome").select_option("left_message")
        row.get_by_label("What happened").fill("Texted; she will be home tomorrow.")
        row.get_by_label("Try again on").fill("2026-10-25")
        row.get_by_role("button", name="Log contact").click()
        expect(page.locator(".messages")).to_contain_text("waiting until 25 Oct 2026")
        waiting = page.locator("section.waiting-section")
        expect(waiting.locator(f"tr[data-alert='{critical.pk}']")).to_contain_text("Waiting until 25 Oct 2026")
        expect(waiting).to_contain_text("2 attempts")
        shots(page, "20-worklist-waiting", no_sideways_scroll=True)

        # The search finds Rosa without her accent; a half-typed note survives the list's refresh.
        page.get_by_label("Patient name or email").fill("martinez")
        page.get_by_role("button", name="Show").click()
        rosa_row = page.locator("tr[data-alert]").first
        expect(rosa_row).to_contain_text("Rosa Martínez")
        expect(page.locator("tr[data-alert]")).to_have_count(1)
        page.get_by_label("Patient name or email").fill("")
        page.get_by_role("button", name="Show").click()
        rosa_row = page.locator("section[aria-labelledby=active-h] tr[data-alert]").first
        rosa_row.get_by_label("Note").first.fill("Half a thought about her")
        alert_raise(patient=rosa, kind="test_new", severity="low", message="A new low alert.", episode="e2")
        # The script is deferred: after "Show" reloaded the page, wait until it has run (a loaded machine is slow).
        expect(page.locator("#worklist-list")).to_have_attribute("data-refresh-ready", "1")
        page.evaluate("window.bonesyncRefreshWorklist()")
        expect(page.locator("tr[data-alert]", has_text="A new low alert.")).to_have_count(1)  # the list did refresh
        expect(rosa_row.get_by_label("Note").first).to_have_value("Half a thought about her")  # the note did not go

        page.goto(f"{live_server.url}/console/patients/{world.ann.pk}/")
        history = page.locator("ol.contact-history li")
        expect(history).to_have_count(2)
        expect(history.first).to_contain_text("left a message")  # newest first
        shots(page, "21-patient-contact")

    with time_machine.travel(HER_NEXT_DAY, tick=True):  # her Sunday has begun: the promised call is due
        page.goto(f"{live_server.url}/console/worklist/")
        active = page.locator("section[aria-labelledby=active-h]")
        expect(active.locator("tr[data-alert]").first).to_have_attribute("data-alert", str(critical.pk))
        expect(active.locator(f"tr[data-alert='{critical.pk}']")).to_contain_text("Call back: due 25 Oct 2026")
        expect(page.locator("section.waiting-section")).to_contain_text("None waiting")
        shots(page, "22-worklist-call-back", no_sideways_scroll=True)
