"""The console on a phone and on paper (issue 14, points 10 and 11): every console page, for each staff role, at
390 px wide with realistic data (long names and emails, a full page of rows) scrolls nowhere sideways, measured from
the page itself; chart text stays readable; the patient summary prints on one A4 page without navigation or buttons.

The pages come from the URL conf: every named console route is opened (with the sample ids below) by each role, so a
page added later is measured without anyone listing it here, and a route whose ids have no sample fails the test.
Screenshots of every page at 390 px and at desktop width go to var/artifacts/console/phone/."""

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, get_resolver, reverse
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize, expect

from apps.accounts.models import Patient
from apps.alerts.models import Alert
from apps.alerts.services import alert_acknowledge, alert_raise
from apps.appointments.models import Appointment
from apps.joint_pain.models import JointPainCheckIn
from apps.medications.models import Schedule
from apps.medications.services import schedule_update
from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.console.conftest import add_dxa_history, make_critical_denosumab_alert, make_high_finding_schedule
from tests.console.test_browser import ARTIFACTS, sign_in
from tests.factories import CareTeamFactory, PatientFactory, make_dose, make_schedule

pytestmark = pytest.mark.django_db(transaction=True)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
A4_PRINTABLE: ViewportSize = {
    "width": 703,
    "height": 1020,
}  # 210 x 297 mm less the @page margins (12 and 14 mm), in CSS px
SHOTS = ARTIFACTS / "phone"
LONG_NAME = "Maria-Fernanda Castellanos-Villanueva de la Torre y Montenegro"
LONG_NOTE = (
    "Phoned twice, no answer on the mobile; left a message with her daughter asking her to call the nurse line "
    "back before Friday so the denosumab injection can be booked at the Riverside infusion suite."
)


def long_email(n: int) -> str:
    return (
        f"maria.fernanda.castellanos.villanueva.{n}+bonesync-follow-up@north-riverside-university-hospital.example.org"
    )


@dataclass
class Crowd:
    patient: Patient
    alert: Alert
    schedule: Schedule
    appointment: Appointment


def crowded_clinic(world: World, *, extra_patients: int = 54) -> Crowd:
    """Ann with a long name and email, a critical denosumab alert (acknowledged with a long note), adherence, DXA
    history and a schedule waiting for review; and enough other long-named patients with alerts to fill a page."""
    user = world.ann.user
    user.full_name, user.email = LONG_NAME, long_email(0)
    user.save(update_fields=["full_name", "email"])
    alert = make_critical_denosumab_alert(world.ann)
    alert_acknowledge(alert=alert, actor=world.cora, note=LONG_NOTE)
    add_dxa_history(world.ann)
    letrozole = make_schedule(world.ann, "letrozole", starts_on=timezone.localdate() - timedelta(days=400))
    for days_ago in range(1, 200, 3):
        make_dose(world.ann, letrozole, taken_at=timezone.now() - timedelta(days=days_ago))
    schedule = make_high_finding_schedule(world.ann)
    # Its course has a planned end: the denosumab off-ramp card and timeline line (issue 15, DOMAIN D7).
    schedule = schedule_update(actor=world.cora, schedule=schedule, ends_on=timezone.localdate() + timedelta(days=200))
    appointment = make_appointment(  # her injection booked: an appointment card with its readiness checklist
        world.ann,
        schedule=alert.schedule,
        location="North Riverside University Hospital, Oncology Day Unit, Infusion Suite B (second floor, east wing)",
    )
    add_joint_pain_check_ins(world.ann)
    for n in range(1, extra_patients + 1):
        other = PatientFactory.create(
            organisation=world.org_a, user__full_name=f"{LONG_NAME} {n}", user__email=long_email(n)
        )
        CareTeamFactory.create(patient=other, staff=world.cora)
        alert_raise(
            patient=other,
            kind="low_adherence",
            severity="high" if n % 2 else "normal",
            message=f"Adherence 62% over 90 days on letrozole 2.5 mg; reference {other.pk} for the pharmacy. ",
            episode=f"e{n}",
        )
        if n <= 3:
            make_high_finding_schedule(other)
    return Crowd(patient=world.ann, alert=alert, schedule=schedule, appointment=appointment)


def add_joint_pain_check_ins(patient: Patient) -> None:
    """Her weekly joint-pain check-ins (issue 15): eight weeks of rising pain, the last one with missed doses."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    for n, worst in enumerate([2, 2, 3, 3, 4, 5, 6, 7]):
        week = monday - timedelta(weeks=8 - n)
        JointPainCheckIn.objects.create(
            id=uuid.uuid4(),
            patient=patient,
            answered_at=timezone.now() - timedelta(weeks=8 - n),
            week_of=week,
            worst_pain=worst,
            stiffness=max(worst - 1, 0),
            interfered=worst >= 5,
            ai_impact="missed" if n == 7 else "none",
        )


def sample_ids(crowd: Crowd) -> dict[str, str]:
    """A value for every id a console route takes, by its name in the URL conf. A new route with a new id name fails
    test_every_console_page_fits_a_phone_for_each_role until a sample is added here."""
    return {
        "patient_pk": str(crowd.patient.pk),
        "schedule_pk": str(crowd.schedule.pk),
        "alert_id": str(crowd.alert.pk),
        "appointment_pk": str(crowd.appointment.pk),
        "rest": "no-such-page/",
        "token": "a-made-up-reset-token",  # the reset link page (it redirects to the set page, which says so)
    }


def console_routes() -> list[tuple[str, list[str]]]:
    """(url name, names of the ids it takes) for every route in the console's URL conf."""
    console = get_resolver().namespace_dict["console"][1]
    routes = []
    for pattern in console.url_patterns:
        assert isinstance(pattern, URLPattern) and pattern.name, f"console route without a name: {pattern.pattern}"
        routes.append((pattern.name, list(pattern.pattern.converters)))
    return routes


# Measured in the page: the document's width against the viewport's, and every element that reaches past either
# edge (a table cell, a long email, an SVG label), described so a failure says what to fix.
MEASURE = """() => {
  const vw = window.innerWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > vw + 0.5 || r.left < -0.5) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      const text = (el.textContent || '').trim().slice(0, 40);
      wide.push(`${name} [${Math.round(r.left)}..${Math.round(r.right)}] "${text}"`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, wide: wide.slice(0, 8)};
}"""


def measure_sideways(page: Page) -> dict[str, Any]:
    return page.evaluate(MEASURE)


def shoot(page: Page, path: Path, width: int) -> None:
    """The page from its top, at most 2,400 px of it (a worklist of fifty rows is ten phone screens)."""
    height = min(2400, page.evaluate("() => document.documentElement.scrollHeight"))
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})


def shoot_both(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, SHOTS / f"{name}-390.png", PHONE["width"])
    page.set_viewport_size(DESKTOP)
    shoot(page, SHOTS / f"{name}-desktop.png", DESKTOP["width"])
    page.set_viewport_size(PHONE)


# Routes that answer a part of another page, never a page of their own: measured inside that page.
FRAGMENTS = {"worklist_list": "worklist"}  # the worklist's list, fetched by its refresh (static/console/worklist.js)


def test_every_console_page_fits_a_phone_for_each_role(world: World, live_server, page: Page) -> None:
    crowd = crowded_clinic(world)
    ids = sample_ids(crowd)
    routes = console_routes()
    missing = {
        name: [k for k in kwargs if k not in ids] for name, kwargs in routes if any(k not in ids for k in kwargs)
    }
    assert not missing, f"console routes with ids that have no sample in sample_ids(): {missing}"

    page.set_viewport_size(PHONE)
    measured: dict[str, list[str]] = {}  # url name -> who saw it as a page
    post_only: set[str] = set()
    problems: list[str] = []

    def visit(who: str, only: str | None = None) -> None:
        for name, kwargs in routes:
            if (only and name != only) or name in FRAGMENTS:
                continue
            path = reverse(f"console:{name}", kwargs={k: ids[k] for k in kwargs})
            if page.request.get(f"{live_server.url}{path}").status == 405:  # an action (acknowledge, resolve,
                post_only.add(name)  # decide, sign out): no page of its own
                continue
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None
            assert response.status in (200, 403, 404), f"{who} {path}: {response.status}"
            result = measure_sideways(page)
            if result["scrollWidth"] > result["innerWidth"] or result["wide"]:
                problems.append(f"{who} {path} ({page.url}): scrollWidth {result['scrollWidth']}, {result['wide']}")
            if response.status == 200 or name == "unknown":
                measured.setdefault(name, []).append(who)
                shoot_both(page, f"{who}-{name}")

    visit("anonymous", only="login")  # the sign-in page as a visitor sees it; the other routes send her there
    for who, email in (("coordinator", "cora@example.org"), ("pharmacist", "phil@example.org")):
        page.context.clear_cookies()
        sign_in(page, live_server.url, email)
        expect(page.locator("nav[aria-label=Console]")).to_be_visible()
        visit(who)

    assert not problems, "pages wider than a 390 px phone:\n" + "\n".join(problems)
    assert set(FRAGMENTS.values()) <= set(measured)  # each fragment was measured inside its page
    never = {name for name, _ in routes} - set(measured) - post_only - set(FRAGMENTS)
    assert not never, f"console routes never shown as a page to any role: {never}"
    for name in ("worklist", "patients", "patient", "reviews", "rules", "login"):  # the pages people live in
        assert name in measured, name
    assert {"coordinator", "pharmacist"} <= set(measured["patient"])


def test_the_measure_catches_a_page_that_scrolls_sideways(world: World, live_server, page: Page) -> None:
    """The measure above is not vacuous: the same page with a fixed-width element in it is caught."""
    sign_in(page, live_server.url, "cora@example.org")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/console/patients/")
    assert measure_sideways(page)["wide"] == []
    page.evaluate(
        "() => { const d = document.createElement('div'); d.style.width = '600px'; d.id = 'wide';"
        " d.textContent = 'x'; document.querySelector('main').append(d); }"
    )
    result = measure_sideways(page)
    assert result["scrollWidth"] > 390 and any(w.startswith("div#wide") for w in result["wide"])


def test_worklist_rows_stack_with_their_column_names_on_a_phone(world: World, live_server, page: Page) -> None:
    crowded_clinic(world, extra_patients=2)
    sign_in(page, live_server.url, "cora@example.org")
    row = page.locator("table.worklist tbody tr[data-alert]").first
    assert page.locator("table.worklist thead").is_visible()  # a table on a laptop
    page.set_viewport_size(PHONE)
    cell = row.locator("td[data-label='Last contact']")
    label = cell.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Last contact"'
    box, row_box = cell.bounding_box(), row.bounding_box()
    assert box is not None and row_box is not None
    assert box["width"] > 0.8 * row_box["width"]  # a cell per line, not a column
    assert row_box["x"] >= 0 and row_box["x"] + row_box["width"] <= PHONE["width"]


def pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF Chromium wrote: one "/Type /Page" object each ("/Type /Pages" is the tree)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_the_printed_summary_is_one_a4_page_without_navigation_or_buttons(
    world: World, live_server, page: Page
) -> None:
    crowd = crowded_clinic(world, extra_patients=0)
    for n in range(3):  # a busy record: more alerts and schedules than most
        alert_raise(
            patient=crowd.patient,
            kind="low_adherence",
            severity="high",
            message=f"Adherence 62% over 90 days on letrozole 2.5 mg (episode {n}); {LONG_NOTE}",
            episode=f"busy{n}",
        )
    make_schedule(crowd.patient, "risedronate")
    sign_in(page, live_server.url, "cora@example.org")
    page.goto(f"{live_server.url}/console/patients/{crowd.patient.pk}/")
    page.get_by_role("link", name="Print summary").click()
    expect(page.get_by_role("heading", name=LONG_NAME, level=1)).to_be_visible()
    expect(page.get_by_role("link", name=f"Back to {LONG_NAME}")).to_be_visible()  # on screen only
    SHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, SHOTS / "summary-screen-desktop.png", DESKTOP["width"])

    page.emulate_media(media="print")
    expect(page.get_by_role("link", name=f"Back to {LONG_NAME}")).to_be_hidden()
    for role in ("navigation", "button", "textbox", "combobox"):
        expect(page.get_by_role(role)).to_have_count(0)
    for heading in ("Therapy", "Injections", "Adherence", "T-scores", "Open alerts"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    colours = page.evaluate(
        "() => [getComputedStyle(document.body).color, getComputedStyle(document.body).backgroundColor]"
    )
    assert colours == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]  # black on white
    page.set_viewport_size(A4_PRINTABLE)  # the screenshot as the sheet lays it out (page.pdf() sizes itself)
    page.screenshot(path=str(SHOTS / "summary-print.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollHeight") <= A4_PRINTABLE["height"]
    pdf = page.pdf(format="A4", print_background=True)
    (SHOTS / "summary.pdf").write_bytes(pdf)
    assert pdf_pages(pdf) == 1

    # The patient page itself prints too: no navigation, buttons or forms.
    page.goto(f"{live_server.url}/console/patients/{crowd.patient.pk}/")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button")).to_have_count(0)
    expect(page.locator("form").first).to_be_hidden()
    assert pdf_pages(page.pdf(format="A4")) >= 2  # the long page: the count above is not vacuous


# Every text in every chart shown: its size on screen (the computed font size times the SVG's scale to the screen)
# and whether it stays inside its chart (an SVG clips what reaches past its edge).
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart')]
  .filter(svg => svg.getBoundingClientRect().width > 0)
  .flatMap(svg => {
    const box = svg.getBoundingClientRect();
    return [...svg.querySelectorAll('text')].map(t => {
      const r = t.getBoundingClientRect();
      return {
        chart: svg.dataset.chart,
        text: t.textContent,
        px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
        inside: r.left >= box.left - 1 && r.right <= box.right + 1 &&
          r.top >= box.top - 1 && r.bottom <= box.bottom + 1,
      };
    });
  })"""


def test_chart_text_stays_readable_on_a_phone_and_on_a_laptop(world: World, live_server, page: Page) -> None:
    crowd = crowded_clinic(world, extra_patients=0)
    make_schedule(crowd.patient, "risedronate")
    sign_in(page, live_server.url, "cora@example.org")
    for size, charts in (
        (PHONE, {"bars-phone", "lines-phone", "columns-phone"}),
        (DESKTOP, {"bars", "lines", "columns"}),
    ):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/console/patients/{crowd.patient.pk}/")
        texts = page.evaluate(CHART_TEXT)
        assert {t["chart"] for t in texts} == charts  # the drawing made for this width, and only it
        small = [(t["chart"], t["text"], round(t["px"], 1)) for t in texts if t["px"] < 11]
        assert not small, f"chart text under 11 px at {size['width']} px: {small}"
        clipped = [(t["chart"], t["text"]) for t in texts if not t["inside"]]
        assert not clipped, f"chart text cut at the chart's edge at {size['width']} px: {clipped}"
        assert measure_sideways(page)["wide"] == []
        for chart in page.locator("svg.chart:visible").all():
            name = chart.get_attribute("data-chart")
            chart.screenshot(path=str(SHOTS / f"chart-{name}-{size['width']}.png"))
