"""Enrolment does not tell a coordinator whether an email has an account outside her organisation (issue 12,
finding 9): that someone uses a breast-cancer app is health information."""

from __future__ import annotations

from typing import Any

import pytest

from apps.accounts.models import Patient, User
from apps.accounts.services import EMAIL_NOT_USABLE, EMAIL_TAKEN, EMAIL_TAKEN_HERE
from tests.conftest import World
from tests.profiles.test_profiles_api import PATIENTS, enrol_body


def enrol(client_for: Any, actor: User, email: str, **extra: Any) -> Any:
    return client_for(actor).post(PATIENTS, enrol_body(email=email, **extra), format="json")


def counts() -> tuple[int, int]:
    return User.objects.count(), Patient.objects.count()


@pytest.mark.parametrize(
    ("who", "emails"),
    [
        # org A's coordinator: a patient and a coordinator of org B, the platform admin (no organisation)
        ("cora", ["zoe@example.org", "zed@example.org", "pia@example.org", "admin@example.org"]),
        # org B's coordinator: org A's patients (assigned or not) and staff
        ("zed", ["ann@example.org", "bea@example.org", "cora@example.org", "admin@example.org"]),
    ],
)
def test_an_account_outside_her_organisation_gets_one_answer_that_says_nothing(
    world: World, client_for: Any, who: str, emails: list[str]
) -> None:
    before = counts()
    answers = [enrol(client_for, getattr(world, who), email) for email in emails]

    assert {a.status_code for a in answers} == {400}
    bodies = [a.json() for a in answers]
    assert all(body == bodies[0] for body in bodies), bodies  # the same bytes whoever holds the address
    assert bodies[0]["error"]["fields"] == {"email": [EMAIL_NOT_USABLE]}
    assert "exists" not in str(bodies[0])
    assert counts() == before


@pytest.mark.parametrize(
    ("who", "email"),
    [
        ("cora", "ann@example.org"),
        ("cora", "BEA@example.org "),
        ("cora", "cody@example.org"),
        ("zed", "zoe@example.org"),
    ],
)
def test_an_account_in_her_own_organisation_is_named_plainly(
    world: World, client_for: Any, who: str, email: str
) -> None:
    before = counts()
    response = enrol(client_for, getattr(world, who), email)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"email": [EMAIL_TAKEN_HERE]}
    assert counts() == before


def test_a_weak_password_is_refused_alike_whether_or_not_the_email_has_an_account(
    world: World, client_for: Any
) -> None:
    free = enrol(client_for, world.cora, "nobody@example.org", password="12345678")
    elsewhere = enrol(client_for, world.cora, "zoe@example.org", password="12345678")
    assert free.status_code == elsewhere.status_code == 400
    assert free.json() == elsewhere.json()
    assert set(free.json()["error"]["fields"]) == {"password"}


def test_an_admin_sees_every_organisation_and_is_told_the_account_exists(world: World, client_for: Any) -> None:
    response = enrol(client_for, world.admin, "zoe@example.org", organisation=str(world.org_a.id))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"email": [EMAIL_TAKEN]}


def test_a_free_email_is_still_enrolled(world: World, client_for: Any) -> None:
    response = enrol(client_for, world.zed, "nora@example.org")
    assert response.status_code == 201, response.content
    assert Patient.objects.get(user__email="nora@example.org").organisation == world.org_b
