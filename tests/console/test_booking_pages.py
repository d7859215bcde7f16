"""The booking loop in the console (issue 14): the booking list shows a late denosumab with a "book" link; the
booking form books it in her time zone (it leaves the list and shows on her injection timeline with readiness);
recording it as given goes through the dose service (the alert resolves, the next due date moves, D2); cancelling
needs a reason. Audited; query counts do not grow with the list."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.alerts.models import Alert, AlertState
from apps.appointments.models import Appointment
from apps.medications.models import DoseRecord
from backend.models import AuditEvent
from tests.conftest import World
from tests.console.conftest import make_critical_denosumab_alert
from tests.factories import CareTeamFactory, PatientFactory
from tests.test_query_counts import count_queries


def test_book_from_the_list_then_record_given(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    schedule = alert.schedule
    assert schedule is not None
    cora = console_for(world.cora)
    listing = cora.get("/console/booking-list/").content.decode()
    assert "Ann Archer" in listing and "Critical" in listing
    book_url = f"/console/patients/{world.ann.pk}/appointments/new/?schedule={schedule.pk}"
    assert book_url.replace("&", "&amp;") in listing or book_url in listing

    form = cora.get(book_url)
    assert form.status_code == 200
    assert "Europe/London" in form.content.decode()
    day = timezone.localdate() + timedelta(days=3)
    response = cora.post(
        book_url,
        {"kind": "injection", "schedule": str(schedule.pk), "on": day.isoformat(), "at": "10:30", "location": "Room 4"},
    )
    assert response.status_code == 302, response.content[:500]
    appointment = Appointment.objects.get()
    assert appointment.starts_at == datetime.combine(day, time(10, 30), tzinfo=ZoneInfo("Europe/London"))
    assert AuditEvent.objects.filter(resource="appointment", action="create", patient_id=world.ann.pk).exists()
    assert f'data-schedule="{schedule.pk}"' not in cora.get("/console/booking-list/").content.decode()

    page = cora.get(f"/console/patients/{world.ann.pk}/").content.decode()
    assert f'data-appointment="{appointment.pk}"' in page
    assert "Booked injection, 10:30, Room 4" in page
    assert "not ready" in page and "No serum calcium on record" in page

    given_url = f"/console/appointments/{appointment.pk}/given/"
    assert cora.post(given_url, {"on": timezone.localdate().isoformat(), "at": "09:00"}).status_code == 400  # site
    assert not DoseRecord.objects.exists()
    now_local = timezone.now().astimezone(timezone.get_default_timezone())
    response = cora.post(given_url, {"on": now_local.date().isoformat(), "at": "00:00", "site": "left upper arm"})
    assert response.status_code == 302, response.content[:500]
    dose = DoseRecord.objects.get()
    assert (dose.source, dose.site, dose.recorded_by) == ("clinic", "left upper arm", world.cora)
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    schedule.refresh_from_db()
    assert (
        schedule.next_due_on is not None and schedule.next_due_on > timezone.localdate()
    )  # D2: six months after the injection given
    assert not Alert.objects.exclude(state=AlertState.RESOLVED).exists()


def test_booking_errors_show_beside_the_fields(world: World, console_for) -> None:
    alert = make_critical_denosumab_alert(world.ann)
    url = f"/console/patients/{world.ann.pk}/appointments/new/"
    response = console_for(world.cora).post(
        url, {"kind": "injection", "schedule": str(alert.schedule_id), "on": "2020-01-01", "at": "10:00"}
    )
    assert response.status_code == 400
    assert "This time has passed" in response.content.decode()
    response = console_for(world.cora).post(url, {"kind": "injection", "on": "2030-01-01", "at": "10:00"})
    assert response.status_code == 400
    assert "names the schedule it gives" in response.content.decode()
    assert not Appointment.objects.exists()


def test_cancel_needs_a_reason(world: World, console_for) -> None:
    from tests.appointments.factories import make_appointment

    appointment = make_appointment(world.ann)
    url = f"/console/appointments/{appointment.pk}/cancel/"
    assert console_for(world.cora).post(url, {"reason": " "}).status_code == 400
    assert console_for(world.cora).post(url, {"reason": "She is travelling"}).status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "She is travelling")
    page = console_for(world.cora).get(f"/console/patients/{world.ann.pk}/").content.decode()
    assert "Cancelled: She is travelling" in page


def test_booking_list_page_queries_do_not_grow(world: World, console_for) -> None:
    make_critical_denosumab_alert(world.ann)
    cora = console_for(world.cora)
    small = count_queries(lambda: cora.get("/console/booking-list/"))
    for _ in range(5):
        patient = PatientFactory.create(organisation=world.org_a)
        CareTeamFactory.create(patient=patient, staff=world.cora)
        make_critical_denosumab_alert(patient)
    assert count_queries(lambda: cora.get("/console/booking-list/")) == small
