"""Browser journeys of the booking loop (issue 14, point 11): book a late denosumab from the booking list and see it
on the patient's injection timeline; record it as given and see the alert resolve. Screenshots at desktop width
and at 390 px (var/artifacts/console/)."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from apps.alerts.models import AlertState
from apps.appointments.models import Appointment
from apps.medications.models import DoseRecord
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert
from tests.console.test_browser import _browser_ready, shoot, sign_in  # noqa: F401 - the shared fixtures

pytestmark = pytest.mark.django_db(transaction=True)
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def test_book_from_the_booking_list_then_record_it_given(
    world: World,
    live_server,
    page: Page,
    shoot: Callable[[str], None],  # noqa: F811 - the fixture
) -> None:
    critical = make_critical_denosumab_alert(world.ann)
    sign_in(page, live_server.url, "cora@example.org")
    page.get_by_role("link", name="Booking list").click()
    expect(page.get_by_role("heading", name="Booking list", level=1)).to_be_visible()
    row = page.locator(f"tr[data-schedule='{critical.schedule_id}']")
    expect(row).to_contain_text("Ann Archer")
    expect(row).to_contain_text("Critical")
    shoot("20-booking-list")
    page.set_viewport_size(PHONE)
    shoot("20-booking-list-390")
    # Every cell is readable on the phone's stacked card: its text is not the colour of the card behind it.
    text, card = page.evaluate(
        """() => { const td = document.querySelector('table.booking-list td[data-label=Medicine]');
                   return [getComputedStyle(td).color, getComputedStyle(td.closest('tr')).backgroundColor]; }"""
    )
    assert text != card, (text, card)
    page.set_viewport_size(DESKTOP)

    row.get_by_role("link", name="Book injection for Ann Archer").click()
    expect(page.get_by_role("heading", name="Book an appointment for Ann Archer")).to_be_visible()
    expect(page.get_by_label("What for")).to_have_value("injection")
    page.get_by_label("Date").fill("2099-01-01")  # too far ahead: refused beside the field, nothing booked
    page.get_by_label("Time").fill("10:30")
    page.get_by_role("button", name="Book").click()
    expect(page.locator(".field-error")).to_contain_text("More than two years ahead")
    shoot("21-book-refused")
    tomorrow = page.evaluate(
        "() => { const d = new Date(Date.now() + 2 * 86400000); return d.toISOString().slice(0, 10); }"
    )
    page.get_by_label("Date").fill(tomorrow)
    page.get_by_label("Where").fill("Clinic B, room 4")
    page.get_by_role("button", name="Book").click()
    expect(page.get_by_role("status")).to_contain_text("Injection booked for Ann Archer")
    appointment = Appointment.objects.get()
    timeline = page.locator(".timeline")
    expect(timeline.locator(f"[data-appointment='{appointment.pk}']")).to_contain_text(
        "Booked injection, 10:30, Clinic B, room 4"
    )
    card = page.locator(f".appointment-list [data-appointment='{appointment.pk}']")
    expect(card).to_contain_text("not ready")
    expect(card).to_contain_text("No serum calcium on record")
    shoot("22-patient-booked")
    page.set_viewport_size(PHONE)
    shoot("22-patient-booked-390")
    page.set_viewport_size(DESKTOP)

    card.get_by_role("link", name="Record as given").click()
    expect(page.get_by_role("heading", name="Record Denosumab as given")).to_be_visible()
    page.get_by_label("Injection site").fill("left upper arm")
    shoot("23-record-given")
    page.get_by_role("button", name="Record as given").click()
    expect(page.get_by_role("status")).to_contain_text("recorded as given to Ann Archer")
    expect(page.locator(f"[data-alert='{critical.pk}']")).to_have_count(0)  # the open alerts no longer list it
    expect(page.locator(".timeline .tl-given")).to_contain_text("left upper arm")
    expect(page.locator(".timeline")).not_to_contain_text("Critical")
    expect(card).to_contain_text("Given")  # the loop is closed: nothing left to record or cancel on it
    expect(card.get_by_role("link", name="Record as given")).to_have_count(0)
    expect(card.get_by_role("button", name="Cancel appointment")).to_have_count(0)
    shoot("24-patient-given")
    page.set_viewport_size(PHONE)
    shoot("24-patient-given-390")

    critical.refresh_from_db()
    assert critical.state == AlertState.RESOLVED
    dose = DoseRecord.objects.get()
    assert (dose.site, dose.recorded_by, dose.source) == ("left upper arm", world.cora, "clinic")
