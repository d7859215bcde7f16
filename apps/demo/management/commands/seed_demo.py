"""Loads a demo organisation (a coordinator, a pharmacist, three patients with DXA results and labs, and a fourth
patient invited to choose her password) and prints the logins. Idempotent: running it again changes nothing and
prints the same logins."""

import smtplib
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import AccountToken, Organisation, Patient, User
from apps.accounts.services import care_team_assign, organisation_create, staff_create, user_create
from apps.accounts.tasks import send_account_email
from apps.demo.review_request import seed_review_request
from apps.profiles.services import bone_density_record, lab_record, patient_enrol
from backend.roles import Role

DEMO_PASSWORD = "BoneSync-demo-2026"
ORGANISATION = "Riverside Breast Clinic"

STAFF = [
    ("nina.coordinator@demo.bonesync.test", "Nina Okafor", Role.COORDINATOR),
    ("paul.pharmacist@demo.bonesync.test", "Paul Lindqvist", Role.PHARMACIST),
]

PATIENTS: list[dict[str, Any]] = [
    {
        "email": "margaret@demo.bonesync.test",
        "full_name": "Margaret Hughes",
        "birth_date": date(1957, 3, 14),
        "timezone": "Europe/London",
        "aromatase_inhibitor": "anastrozole",
        "ai_started_on": date(2024, 6, 3),
        "ai_planned_years": 5,  # DOMAIN T1: the planned course
        "height_cm": Decimal("161.0"),
        "weight_kg": Decimal("52.0"),
        "smoker": "former",
        "prior_fragility_fracture": True,
        "dxa": [("lumbar_spine", "-2.3", date(2024, 5, 20)), ("femoral_neck", "-1.9", date(2024, 5, 20))],
        "labs": [("egfr", "58", "mL/min/1.73m2"), ("serum_calcium", "9.4", "mg/dL"), ("vitamin_d_25oh", "18", "ng/mL")],
    },
    {
        "email": "rosa@demo.bonesync.test",
        "full_name": "Rosa Martínez",
        "birth_date": date(1966, 9, 2),
        "timezone": "America/Los_Angeles",
        "aromatase_inhibitor": "letrozole",
        "ai_started_on": date(2025, 2, 10),
        "ai_planned_years": 10,  # DOMAIN T1: the planned course
        "height_cm": Decimal("158.0"),
        "weight_kg": Decimal("66.5"),
        "smoker": "never",
        "dxa": [("lumbar_spine", "-1.1", date(2025, 1, 28)), ("total_hip", "-0.8", date(2025, 1, 28))],
        "labs": [("egfr", "91", "mL/min/1.73m2"), ("vitamin_d_25oh", "31", "ng/mL")],
    },
    {
        "email": "aroha@demo.bonesync.test",
        "full_name": "Aroha Ngata",
        "birth_date": date(1959, 11, 23),
        "timezone": "Pacific/Auckland",
        "aromatase_inhibitor": "exemestane",
        "ai_started_on": date(2023, 8, 15),
        "ai_planned_years": 5,  # DOMAIN T1: the planned course
        "height_cm": Decimal("167.0"),
        "weight_kg": Decimal("71.0"),
        "smoker": "current",
        "oral_corticosteroids_months": 9,
        "dxa": [("femoral_neck", "-1.7", date(2023, 8, 1)), ("total_hip", "-1.4", date(2023, 8, 1))],
        "labs": [("crcl", "44", "mL/min"), ("serum_calcium", "2.35", "mmol/L")],
    },
]


def _seed_treatment(coordinator: User, pharmacist: User) -> None:
    """Schedules, doses, supplement plans and exercise plans dated relative to today, so the demo always shows
    something to act on: Margaret's denosumab is late (rebound-risk alert), Rosa takes weekly alendronate, Aroha
    had zoledronic acid three months ago. Runs only for patients with no schedules yet."""
    from apps.alerts.jobs import injection_watch
    from apps.exercise.services import exercise_plan_create
    from apps.medications.models import Medication, Schedule
    from apps.medications.services import dose_record, schedule_create
    from apps.supplements.services import supplement_plan_create
    from backend import clock

    def medication(code: str) -> Medication:
        return Medication.objects.get(code=code)

    def at(patient: Patient, day: date, hour: int = 9) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=clock.zone(patient.profile.timezone))

    for spec in PATIENTS:
        patient = Patient.objects.get(user__email=spec["email"])
        if Schedule.objects.filter(patient=patient).exists():
            continue
        today = clock.local_today(patient.profile.timezone)
        ai = schedule_create(
            actor=coordinator,
            patient=patient,
            medication=medication(spec["aromatase_inhibitor"]),
            local_time=time(8, 0),
            starts_on=spec["ai_started_on"],
        )
        for days_ago in range(1, 15):
            if days_ago not in (4, 9):  # two missed days in the last fortnight
                dose_record(
                    actor=patient.user,
                    patient=patient,
                    schedule=ai,
                    id=uuid.uuid4(),
                    taken_at=at(patient, today - timedelta(days=days_ago), 8),
                )
        if spec["email"].startswith("margaret"):
            last = today - timedelta(days=183 + 45)  # six months and 45 days ago: late (DOMAIN D4, D5)
            shot = schedule_create(
                actor=coordinator,
                patient=patient,
                medication=medication("denosumab"),
                local_time=time(10, 0),
                starts_on=last,
            )
            dose_record(
                actor=coordinator,
                patient=patient,
                schedule=shot,
                id=uuid.uuid4(),
                source="clinic",
                site="left upper arm",
                taken_at=at(patient, last, 10),
            )
        elif spec["email"].startswith("rosa"):
            start = today - timedelta(days=70)
            weekly = schedule_create(
                actor=coordinator,
                patient=patient,
                medication=medication("alendronate"),
                local_time=time(6, 30),
                starts_on=start,
            )
            for week in range(10):
                if week not in (3, 6):
                    dose_record(
                        actor=patient.user,
                        patient=patient,
                        schedule=weekly,
                        id=uuid.uuid4(),
                        taken_at=at(patient, start + timedelta(weeks=week), 6),
                    )
        else:
            given = today - timedelta(days=92)
            infusion = schedule_create(
                actor=coordinator,
                patient=patient,
                medication=medication("zoledronic_acid"),
                local_time=time(11, 0),
                starts_on=given,
            )
            dose_record(
                actor=pharmacist,
                patient=patient,
                schedule=infusion,
                id=uuid.uuid4(),
                source="clinic",
                taken_at=at(patient, given, 11),
            )
        if not spec["email"].startswith("margaret"):  # her missing calcium/vitamin D shows in the review (D6)
            supplement_plan_create(
                actor=coordinator,
                patient=patient,
                supplement="calcium_citrate",
                amount=Decimal("500"),
                unit="mg",
                times_of_day=[time(13, 0), time(19, 0)],
            )
            supplement_plan_create(
                actor=coordinator,
                patient=patient,
                supplement="vitamin_d3",
                amount=Decimal("1000"),
                unit="IU",
                times_of_day=[time(13, 0)],
            )
        exercise_plan_create(actor=coordinator, patient=patient, reminder_days=[0, 2, 4], local_time=time(17, 30))
    injection_watch()


def _seed_stock() -> None:
    """Issue 17: the patients' tablets on hand. Rosa has one alendronate tablet left of her pack of 4 (her weekly dose
    is due today), so a refill is due and its reminder is pending; her anastrozole and calcium are well stocked.
    Runs only for schedules and plans whose stock is not tracked yet."""
    from apps.medications.models import Schedule
    from apps.medications.stock import stock_update
    from apps.supplements.models import SupplementPlan

    for spec in PATIENTS:
        patient = Patient.objects.select_related("user").get(user__email=spec["email"])
        untracked = Schedule.objects.filter(patient=patient, status="active", stock_on_hand=None).exclude(
            medication__administered_by="clinic"
        )
        for schedule in untracked.select_related("medication"):
            low = schedule.medication.code == "alendronate"
            stock_update(
                actor=patient.user,
                item=schedule,
                stock_on_hand=1 if low else 40,
                pack_size=4 if low else 30,
            )
        for plan in SupplementPlan.objects.filter(patient=patient, status="active", stock_on_hand=None):
            stock_update(actor=patient.user, item=plan, stock_on_hand=120, pack_size=120)


def _seed_appointments(coordinator: User) -> None:
    """The booking loop (issue 14): Margaret's late denosumab is booked two days from now at 10:30 her time, so the
    newcomer sees it on her timeline with its readiness (not ready: her serum calcium is old) and can record it as
    given. Runs only when she has no appointment yet."""
    from apps.appointments.models import Appointment
    from apps.appointments.services import appointment_create
    from apps.medications.models import Schedule
    from backend import clock

    patient = Patient.objects.select_related("profile").get(user__email=PATIENTS[0]["email"])
    if Appointment.objects.filter(patient=patient).exists():
        return
    shot = Schedule.objects.filter(patient=patient, medication__code="denosumab").first()
    if shot is None:
        return
    day = clock.local_today(patient.profile.timezone) + timedelta(days=2)
    appointment_create(
        actor=coordinator,
        patient=patient,
        kind="injection",
        schedule=shot,
        starts_at=datetime.combine(day, time(10, 30), tzinfo=clock.zone(patient.profile.timezone)),
        location="Riverside Breast Clinic, treatment room 2",
        note="Booked after the call about her late injection.",
    )


# Issue 15: Rosa's joint pain rises over her last seven weekly check-ins (DOMAIN J2 worst pain, 0-10), crossing the J3
# alert line of 4 and, last week, making her miss doses of her letrozole. (worst pain, stiffness, kept from activities)
RISING_JOINT_PAIN = [
    (2, 2, False),
    (2, 3, False),
    (3, 3, False),
    (3, 4, False),
    (4, 4, False),
    (5, 5, True),
    (6, 6, True),
]
JOINT_PAIN_PATIENT = "rosa@demo.bonesync.test"
_CHECK_IN_IDS = uuid.UUID("5b0e15a1-0000-4000-8000-000000000015")  # uuid5 namespace: the same ids on every run


def _seed_joint_pain() -> None:
    """Rosa's rising joint pain, one check-in a week up to last week, answered on her check-in evening (Monday
    18:20 her time). Only when she has none yet (idempotent)."""
    from apps.joint_pain.models import JointPainCheckIn
    from apps.joint_pain.services import check_in_record
    from backend import clock

    patient = Patient.objects.select_related("profile", "user").get(user__email=JOINT_PAIN_PATIENT)
    if JointPainCheckIn.objects.filter(patient=patient).exists():
        return
    zone = clock.zone(patient.profile.timezone)
    today = clock.local_today(patient.profile.timezone)
    this_monday = today - timedelta(days=today.weekday())
    for n, (worst, stiffness, interfered) in enumerate(RISING_JOINT_PAIN):
        monday = this_monday - timedelta(weeks=len(RISING_JOINT_PAIN) - n)
        answers: dict[str, Any] = {
            "id": uuid.uuid5(_CHECK_IN_IDS, f"{JOINT_PAIN_PATIENT}:{n}"),
            "answered_at": datetime.combine(monday, time(18, 20), tzinfo=zone),
            "worst_pain": worst,
            "stiffness": stiffness,
            "interfered": interfered,
            "ai_impact": "missed" if n == len(RISING_JOINT_PAIN) - 1 else "none",
        }
        check_in_record(actor=patient.user, patient=patient, **answers)


# Fictional numbers only (issue 14): Ofcom's drama range (020 7946 0xxx), the US 555-01xx range, ACMA's drama mobile.
DEMO_PHONES = {
    "margaret@demo.bonesync.test": ("+442079460321", "+442079460322", "phone"),
    "rosa@demo.bonesync.test": ("+12025550143", "", "sms"),
    "aroha@demo.bonesync.test": ("+61491570156", "", "app_message"),
}


def _seed_contacts(coordinator: User) -> None:
    """Phone numbers and preferred channels for the demo patients, and a contact history on Margaret's late
    denosumab alert (two tries, the second asking to call back today), so the worklist shows the loop. Only where
    none is recorded yet (idempotent)."""
    from apps.alerts.models import Alert, AlertState, ContactAttempt
    from apps.alerts.services import contact_attempt_record
    from apps.profiles.services import patient_profile_update
    from backend import clock

    for email, (phone, phone_alt, channel) in DEMO_PHONES.items():
        patient = Patient.objects.select_related("profile", "user").get(user__email=email)
        if not patient.profile.phone:
            patient_profile_update(
                actor=coordinator, patient=patient, phone=phone, phone_alt=phone_alt, preferred_channel=channel
            )
    alert = (
        Alert.objects.filter(patient__user__email="margaret@demo.bonesync.test", kind="denosumab_late")
        .exclude(state=AlertState.RESOLVED)
        .first()
    )
    if alert is None or ContactAttempt.objects.filter(alert=alert).exists():
        return
    contact_attempt_record(
        alert=alert, actor=coordinator, channel="phone", outcome="no_answer", note="Rang her mobile, no voicemail."
    )
    contact_attempt_record(
        alert=alert,
        actor=coordinator,
        channel="sms",
        outcome="left_message",
        note="Texted: please ring the clinic to book the injection; will call again.",
        follow_up_on=clock.local_today("Europe/London"),
    )


# Issue 17: a patient enrolled the usual way, without a password: she has an invitation to choose her own, pending.
INVITED: dict[str, Any] = {
    "email": "lena@demo.bonesync.test",
    "full_name": "Lena Fischer",
    "birth_date": date(1962, 5, 30),
    "timezone": "Europe/Berlin",
    "aromatase_inhibitor": "anastrozole",
    "ai_started_on": date(2025, 10, 6),
    "ai_planned_years": 5,
}


def _seed_invitation(coordinator: User, organisation: Organisation) -> str | None:
    """Enrol Lena without a password (her invitation is emailed once the seed commits); her invitation's id, or None
    when she is there already."""
    if User.objects.filter(email=INVITED["email"]).exists():
        return None
    patient = patient_enrol(actor=coordinator, organisation=organisation, **INVITED)
    row = AccountToken.objects.get(user=patient.user, purpose=AccountToken.Purpose.INVITATION)
    return str(row.pk)


def _send_invitation_now(row_id: str) -> bool:
    """The first seed sends Lena's invitation itself, so the demo shows her email (the console backend prints it,
    link and code) before the worker starts; the worker's queued copy then finds it sent. A mail server that is not
    there leaves it to the worker."""
    try:
        return send_account_email(row_id)
    except (OSError, smtplib.SMTPException):
        return False


class Command(BaseCommand):
    help = "Load the demo organisation and print its logins (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            self._seed()
            coordinator = User.objects.get(email=STAFF[0][0])
            pharmacist = User.objects.get(email=STAFF[1][0])
            _seed_treatment(coordinator, pharmacist)
            _seed_stock()  # issue 17: a refill due, its reminder pending
            seed_review_request(pharmacist)  # issue 14: a pending request for changes on the worklist
            _seed_appointments(coordinator)
            _seed_contacts(coordinator)
            _seed_joint_pain()
            invitation = _seed_invitation(coordinator, coordinator.organisation)  # type: ignore[arg-type]
        if invitation is not None:
            _send_invitation_now(invitation)
        self.stdout.write(self.style.SUCCESS(f"Demo organisation: {ORGANISATION}"))
        self.stdout.write(f"All demo logins use the password: {DEMO_PASSWORD}")
        for email, name, role in STAFF:
            self.stdout.write(f"  {role:<12} {email:<42} {name}")
        for spec in PATIENTS:
            self.stdout.write(f"  {'patient':<12} {spec['email']:<42} {spec['full_name']}")
        self.stdout.write(f"  {'admin':<12} {'admin@demo.bonesync.test':<42} (Django admin at /admin/)")
        self.stdout.write(
            f"Invited, no password yet: {INVITED['email']} ({INVITED['full_name']}): her invitation email (link and "
            "code) goes through EMAIL_URL, printed by the first seed or the worker (var/celery.log); accept it with "
            "POST /api/v1/auth/invitation/accept/, or resend it with POST /api/v1/patients/{id}/invitation/resend/."
        )

    def _seed(self) -> None:
        if not User.objects.filter(email="admin@demo.bonesync.test").exists():
            user_create(email="admin@demo.bonesync.test", password=DEMO_PASSWORD, role=Role.ADMIN, organisation=None)
            User.objects.filter(email="admin@demo.bonesync.test").update(is_staff=True, is_superuser=True)
        admin = User.objects.get(email="admin@demo.bonesync.test")
        organisation = Organisation.objects.filter(name=ORGANISATION).first() or organisation_create(name=ORGANISATION)
        staff = {}
        for email, name, role in STAFF:
            existing = User.objects.filter(email=email).first()
            staff[role] = existing or staff_create(
                email=email, password=DEMO_PASSWORD, role=role, organisation=organisation, full_name=name
            )
        coordinator, pharmacist = staff[Role.COORDINATOR], staff[Role.PHARMACIST]
        for spec in PATIENTS:
            if User.objects.filter(email=spec["email"]).exists():
                continue
            fields = {k: v for k, v in spec.items() if k not in {"dxa", "labs"}}
            patient = patient_enrol(actor=coordinator, organisation=organisation, password=DEMO_PASSWORD, **fields)
            care_team_assign(actor=admin, patient=patient, staff=pharmacist)  # only admins add others
            for site, t_score, measured_on in spec["dxa"]:
                bone_density_record(
                    actor=coordinator, patient=patient, site=site, t_score=Decimal(t_score), measured_on=measured_on
                )
            for kind, value, unit in spec["labs"]:
                lab_record(
                    actor=pharmacist,
                    patient=patient,
                    kind=kind,
                    value=Decimal(value),
                    unit=unit,
                    measured_on=date(2025, 11, 3),
                )
