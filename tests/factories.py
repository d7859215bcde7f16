"""Factories for tests. Passwords are hashed once per session (argon2 is slow on purpose)."""

from datetime import date
from decimal import Decimal
from functools import lru_cache

import factory
from django.contrib.auth.hashers import make_password

from apps.accounts.models import CareTeamAssignment, Organisation, Patient, User
from apps.profiles.models import BoneDensityResult, LabResult, PatientProfile
from backend.roles import Role

PASSWORD = "Sturdy-bones-2026"


@lru_cache(maxsize=1)
def password_hash() -> str:
    return make_password(PASSWORD)


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    role = Role.COORDINATOR
    organisation = factory.SubFactory(OrganisationFactory)
    password = factory.LazyFunction(password_hash)


class AdminFactory(UserFactory):
    role = Role.ADMIN
    organisation = None  # type: ignore[assignment]
    is_staff = True
    is_superuser = True


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory, role=Role.PATIENT, organisation=factory.SelfAttribute("..organisation"))
    profile = factory.RelatedFactory("tests.factories.ProfileFactory", factory_related_name="patient")


class ProfileFactory(factory.django.DjangoModelFactory[PatientProfile]):
    class Meta:
        model = PatientProfile

    patient = factory.SubFactory(PatientFactory, profile=None)
    birth_date = date(1960, 5, 17)
    timezone = "Europe/London"
    aromatase_inhibitor = "letrozole"
    ai_started_on = date(2024, 3, 1)
    height_cm = Decimal("164.0")
    weight_kg = Decimal("63.0")
    smoker = "never"


class CareTeamFactory(factory.django.DjangoModelFactory[CareTeamAssignment]):
    class Meta:
        model = CareTeamAssignment

    patient = factory.SubFactory(PatientFactory)
    staff = factory.SubFactory(UserFactory, organisation=factory.SelfAttribute("..patient.organisation"))


class BoneDensityFactory(factory.django.DjangoModelFactory[BoneDensityResult]):
    class Meta:
        model = BoneDensityResult

    patient = factory.SubFactory(PatientFactory)
    measured_on = date(2025, 1, 10)
    site = "lumbar_spine"
    t_score = Decimal("-1.2")


class LabFactory(factory.django.DjangoModelFactory[LabResult]):
    class Meta:
        model = LabResult

    patient = factory.SubFactory(PatientFactory)
    kind = "egfr"
    value = Decimal("72")
    unit = "mL/min/1.73m2"
    measured_on = date(2025, 1, 10)


def make_schedule(patient: Patient, code: str = "alendronate", **changes: object):
    """A schedule through the real service (validation, injection due date, review status)."""
    from datetime import time

    from apps.medications.models import Medication
    from apps.medications.services import schedule_create

    staff = patient.care_team.first()
    actor = staff.staff if staff else UserFactory.create(organisation=patient.organisation)
    values: dict = {"local_time": time(7, 0), "starts_on": date(2026, 1, 5), **changes}
    return schedule_create(actor=actor, patient=patient, medication=Medication.objects.get(code=code), **values)


def make_dose(patient: Patient, schedule=None, **changes: object):
    import uuid
    from datetime import datetime, timedelta

    from django.utils import timezone

    from apps.medications.services import dose_record

    schedule = schedule or make_schedule(patient)
    values: dict = {"id": uuid.uuid4(), "taken_at": timezone.now() - timedelta(hours=1), **changes}
    assert isinstance(values["taken_at"], datetime)
    return dose_record(actor=patient.user, patient=patient, schedule=schedule, **values).dose
