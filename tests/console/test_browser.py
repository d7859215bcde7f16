"""The console in a real browser: Playwright's pytest fixtures driving Debian's Chromium headless against Django's
live server. Three journeys from the issue; a screenshot of every page goes to var/artifacts/console/ (CI keeps it).

scripts/test.sh installs Chromium first (scripts/browser_deps.sh). The page fixture runs an event loop in this
thread, so database work here needs DJANGO_ALLOW_ASYNC_UNSAFE (TOOLING.md; set in conftest.py)."""

import os
from base64 import b32decode
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from apps.alerts.models import Alert, AlertState
from apps.alerts.services import alert_raise
from apps.medications.models import ReviewDecision, ReviewStatus
from tests.conftest import World
from tests.console.conftest import (
    CHROMIUM,
    add_dxa_history,
    make_critical_denosumab_alert,
    make_high_finding_schedule,
)
from tests.factories import PASSWORD, CareTeamFactory, PatientFactory, make_dose, make_schedule

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "console"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _browser_ready() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser_deps.sh as root (apt-get install -y chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def shoot(page: Page) -> Iterator[Callable[[str], None]]:
    def save(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    yield save


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/console/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_coordinator_resolves_the_critical_denosumab_alert(world: World, live_server, page: Page, shoot) -> None:
    critical = make_critical_denosumab_alert(world.ann)
    add_dxa_history(world.ann)
    letrozole = make_schedule(world.ann, "letrozole", starts_on=timezone.localdate() - timedelta(days=400))
    for days_ago in range(1, 300, 2):  # every other day: about half the days covered
        make_dose(world.ann, letrozole, taken_at=timezone.now() - timedelta(days=days_ago))
    dora = PatientFactory.create(organisation=world.org_a, user__full_name="Dora Dale")
    CareTeamFactory.create(patient=dora, staff=world.cora)
    alert_raise(
        patient=dora, kind="low_adherence", severity="high", message="Adherence 62% over 90 days.", episode="e1"
    )

    page.goto(f"{live_server.url}/console/login/")
    expect(page.get_by_label("Email")).to_be_focused()  # ready to type
    shoot("01-login")
    sign_in(page, live_server.url, "cora@example.org")

    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    page.keyboard.press("Tab")  # keyboard first: the skip link is the first stop, shown when focused
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    rows = page.locator("table.worklist tbody tr[data-alert]")  # each under her patient's heading row
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Urgent")
    expect(rows.first).to_contain_text("Denosumab")
    expect(rows.first).to_contain_text("Ann Archer")
    expect(rows.nth(1)).to_contain_text("Dora Dale")
    shoot("02-coordinator-worklist")

    rows.first.get_by_role("link", name="Ann Archer").click()
    expect(page.get_by_role("heading", name="Ann Archer", level=1)).to_be_visible()
    for chart in ("bars", "lines", "columns"):
        expect(page.locator(f"svg[data-chart={chart}]")).to_be_visible()
    expect(page.locator("svg[data-chart=bars] rect.bar.bar-0")).to_have_count(2)  # letrozole and denosumab, 90 days
    expect(page.locator("svg[data-chart=lines] path.line-1")).to_have_count(1)  # two DXA sites
    expect(page.locator(".timeline")).to_contain_text("Critical")
    shoot("03-coordinator-patient")

    alert_item = page.locator(f"[data-alert='{critical.pk}']")
    alert_item.get_by_role("button", name="Resolve").click()  # no note yet: refused, shown beside the field
    expect(page.locator(f"[data-alert='{critical.pk}'] .field-error")).to_contain_text("a note is required")
    shoot("04-coordinator-resolve-refused")
    page.locator(f"[data-alert='{critical.pk}']").get_by_label("Note").fill("Phoned Ann: injection booked Monday.")
    page.locator(f"[data-alert='{critical.pk}']").get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_contain_text("resolved")
    expect(page.locator(f"[data-alert='{critical.pk}']")).to_have_count(0)
    shoot("05-coordinator-resolved")

    critical.refresh_from_db()
    assert (critical.state, critical.resolved_by, critical.resolution_note) == (
        AlertState.RESOLVED,
        world.cora,
        "Phoned Ann: injection booked Monday.",
    )


def test_pharmacist_verifies_a_schedule_with_a_high_finding(world: World, live_server, page: Page, shoot) -> None:
    schedule = make_high_finding_schedule(world.ann)
    sign_in(page, live_server.url, "phil@example.org")

    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    card = page.locator(f"article[data-schedule='{schedule.pk}']")
    expect(card.locator(".finding-high").first).to_contain_text("High")
    shoot("06-pharmacist-queue")

    # A finding's rule id opens its entry in the project's own rulebook, inside the console.
    card.locator(".finding-high", has_text="calcium and vitamin D").get_by_role("link", name="D6").click()
    expect(page).to_have_url(f"{live_server.url}/console/rules/#rule-D6")
    expect(page.locator("h3#rule-D6")).to_be_in_viewport()
    expect(page.locator("h3#rule-D6")).to_contain_text("Before each denosumab injection")
    shoot("06b-pharmacist-rulebook-entry")
    page.go_back()
    card = page.locator(f"article[data-schedule='{schedule.pk}']")

    card.get_by_role("button", name="Verify").click()
    card = page.locator(f"article[data-schedule='{schedule.pk}']")
    expect(card.locator(".field-error")).to_contain_text("high finding")
    shoot("07-pharmacist-note-required")
    card.get_by_label("Note").fill("Alendronate stops today; denosumab replaces it. Calcium plan started.")
    card.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("status")).to_contain_text("verified")
    expect(page.locator(f"article[data-schedule='{schedule.pk}']")).to_have_count(0)
    shoot("08-pharmacist-verified")

    schedule.refresh_from_db()
    assert schedule.review_status == ReviewStatus.VERIFIED
    decision = ReviewDecision.objects.get(schedule=schedule)
    assert decision.note.startswith("Alendronate stops today") and decision.reviewer == world.phil
    assert any(f["severity"] == "high" for f in decision.findings)


def test_another_organisations_coordinator_sees_none_of_it(world: World, live_server, page: Page, shoot) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    sign_in(page, live_server.url, "zed@example.org")

    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(page.get_by_text("No open alerts")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Ann")
    shoot("09-other-org-worklist")

    page.get_by_role("link", name="Patients").click()
    expect(page.locator("main")).to_contain_text("Zoe Zane")
    expect(page.locator("main")).not_to_contain_text("Ann Archer")
    shoot("10-other-org-patients")

    response = page.goto(f"{live_server.url}/console/patients/{world.ann.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shoot("11-other-org-patient-404")
    assert Alert.objects.get(pk=alert.pk).state == AlertState.OPEN


def test_coordinator_sets_up_her_second_factor_then_signs_in_with_it(
    world: World, live_server, page: Page, shoot, settings
) -> None:
    """Production's STAFF_MFA_REQUIRED: the QR code and key on the page, a wrong code refused, the right one opens the
    worklist; at the next sign-in only the code is asked."""
    settings.STAFF_MFA_REQUIRED = True
    sign_in(page, live_server.url, "cora@example.org")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    expect(page.get_by_role("navigation", name="Console")).to_have_count(0)
    typed_key = page.locator("code.secret").inner_text().replace(" ", "")
    shoot("10-second-factor-enrol")

    device = TOTPDevice.objects.get(user=world.cora)
    assert b32decode(typed_key + "=" * (-len(typed_key) % 8)) == device.bin_key  # the key shown is the device's
    page.get_by_label("Code from your authenticator app").fill("000000" if app_code(device) != "000000" else "111111")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.locator(".field-error")).to_contain_text("That code is not right")
    page.wait_for_timeout(1100)  # one wrong code locks the device for a second
    page.get_by_label("Code from your authenticator app").fill(app_code(device))
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    shoot("11-second-factor-done")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, "cora@example.org")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    # A code is accepted once: the app's next one (the server accepts one step either side of its clock).
    page.get_by_label("Code from your authenticator app").fill(app_code(device, ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()


def app_code(device: TOTPDevice, *, ahead: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + ahead):06d}"
