"""Readiness on an upcoming injection from the record (DOMAIN D8): labs, supplement plans, a booked blood test, a
dental check; shown, never blocking the booking."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from tests.appointments.factories import make_appointment
from tests.conftest import World
from tests.factories import LabFactory, make_schedule
from tests.supplements.factories import make_plan


def test_readiness_follows_the_record(world: World, client_for) -> None:
    schedule = make_schedule(world.ann, "denosumab")
    appointment = make_appointment(world.ann, schedule=schedule)
    url = f"/api/v1/patients/{world.ann.id}/appointments/{appointment.id}/"

    def items() -> dict[str, bool]:
        body = client_for(world.cora).get(url).json()["readiness"]
        return {item["code"]: item["ok"] for item in body["items"]} | {"ready": body["ready"]}

    assert items() == {
        "serum_calcium": False,
        "calcium_vitamin_d": False,
        "renal_function": False,
        "dental_check": False,
        "ready": False,
    }
    today = timezone.localdate()
    LabFactory.create(patient=world.ann, kind="serum_calcium", value=Decimal("2.35"), unit="mmol/L", measured_on=today)
    LabFactory.create(patient=world.ann, kind="egfr", value=Decimal("25"), unit="mL/min/1.73m2", measured_on=today)
    make_plan(world.ann)
    make_plan(world.ann, supplement="vitamin_d3", amount=Decimal("800"), unit="IU")
    client_for(world.cora).post(
        f"/api/v1/patients/{world.ann.id}/dental-checks/", {"checked_on": today.isoformat()}, format="json"
    )
    assert items() == {
        "serum_calcium": True,  # 2.35 mmol/L = 9.4 mg/dL
        "calcium_vitamin_d": True,
        "renal_function": False,  # eGFR 25: a calcium check after the injection is needed
        "dental_check": True,
        "ready": False,
    }
    make_appointment(world.ann, kind="lab", starts_at=appointment.starts_at + timedelta(days=10))
    assert items()["ready"] is True
