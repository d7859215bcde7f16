"""Issue 14, point 11 (the pharmacist's part): she requests changes in her queue and the coordinator sees the item on
her worklist; once the schedule is changed it comes back to the queue with the history, and verifying it clears the
worklist. In Debian's Chromium, at a desktop width and at 390 px (a phone), screenshots of each step in
var/artifacts/console/ (CI keeps them)."""

from collections.abc import Callable, Iterator
from datetime import date, time
from decimal import Decimal

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from apps.alerts.models import Alert, AlertState
from apps.medications.models import ReviewDecision, ReviewStatus
from apps.medications.services import schedule_update
from tests.conftest import World
from tests.console.test_browser import ARTIFACTS, sign_in
from tests.factories import LabFactory, make_schedule
from tests.supplements.factories import make_plan

pytestmark = pytest.mark.django_db(transaction=True)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}


@pytest.fixture
def shoot_both(page: Page) -> Iterator[Callable[..., None]]:
    """A full-page screenshot at the desktop width and at 390 px; at 390 px the page must not scroll sideways
    (measured from the page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        page.set_viewport_size(DESKTOP)
        assert overflow <= 0, f"{name}: scrolls sideways by {overflow} px at 390 px"

    yield save


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_request_changes_reaches_the_coordinator_and_verifying_clears_it(
    world: World, live_server, page: Page, shoot_both
) -> None:
    LabFactory.create(patient=world.ann, kind="crcl", value=Decimal("52"), unit="mL/min", measured_on=date(2026, 2, 2))
    LabFactory.create(
        patient=world.ann, kind="serum_calcium", value=Decimal("2.35"), unit="mmol/L", measured_on=date(2026, 2, 2)
    )
    make_schedule(world.ann, "letrozole")
    make_plan(world.ann, supplement="calcium_citrate", amount=Decimal("500"), times_of_day=[time(7, 10)])
    alendronate = make_schedule(world.ann, "alendronate", local_time=time(7, 0))
    note = "Calcium at 07:10 is too soon after alendronate at 07:00: move calcium to lunch."

    # The pharmacist judges the schedule with the labs, her other medicines and her plans in view.
    sign_in(page, live_server.url, "phil@example.org")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    card = page.locator(f"article[data-schedule='{alendronate.pk}']")
    expect(card.locator("[data-lab=crcl]")).to_contain_text("52 mL/min")
    expect(card.locator("[data-lab=crcl]")).to_contain_text("2 Feb 2026")
    expect(card.locator("[data-lab=vitamin_d_25oh]")).to_contain_text("none on record")
    expect(card).to_contain_text("Letrozole")
    expect(card).to_contain_text("Calcium citrate 500 mg at 07:10")
    expect(card).to_contain_text("First review.")
    shoot_both("r01-pharmacist-queue-with-context")

    card.get_by_label("Note").fill(note)
    card.get_by_role("button", name="Request changes").click()
    expect(page.get_by_role("status")).to_contain_text("sent back with changes requested")
    expect(page.locator(f"article[data-schedule='{alendronate.pk}']")).to_have_count(0)
    shoot_both("r02-pharmacist-changes-requested")
    sign_out(page)

    # The coordinator finds it on her worklist, with the pharmacist's note.
    sign_in(page, live_server.url, "cora@example.org")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    alert = Alert.objects.get(kind="review_changes_requested")
    row = page.locator(f"tr[data-alert='{alert.pk}']")
    expect(row).to_contain_text("requested changes to Alendronate")
    expect(row).to_contain_text(note)
    expect(row).to_contain_text("Ann Archer")
    shoot_both("r03-coordinator-worklist-item")

    # She changes the schedule (as her app or the API would): it goes back to the pharmacist with the history.
    schedule_update(actor=world.cora, schedule=alendronate, local_time=time(6, 0))
    sign_out(page)
    sign_in(page, live_server.url, "phil@example.org")
    card = page.locator(f"article[data-schedule='{alendronate.pk}']")
    expect(card.locator(".decisions")).to_contain_text("Changes requested")
    expect(card.locator(".decisions")).to_contain_text(note)
    shoot_both("r04-pharmacist-back-with-history")
    card.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("verified")
    sign_out(page)

    # Verified: the item leaves the coordinator's worklist by itself.
    sign_in(page, live_server.url, "cora@example.org")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(page.locator(f"tr[data-alert='{alert.pk}']")).to_have_count(0)
    shoot_both("r05-coordinator-item-resolved")

    alert.refresh_from_db()
    alendronate.refresh_from_db()
    assert alert.state == AlertState.RESOLVED and alendronate.review_status == ReviewStatus.VERIFIED
    assert list(ReviewDecision.objects.filter(schedule=alendronate).order_by("created_at").values_list("decision")) == [
        ("request_changes",),
        ("verify",),
    ]
