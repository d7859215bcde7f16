"""Her own account (issue 17 part 6): enrolment invites her by email to choose her password; password reset by email
for every role; no answer says whether an email has an account."""

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from apps.accounts.models import AccountToken, Patient, User
from backend.models import AuditEvent
from backend.throttles import ResilientScopedRateThrottle
from config.celery_app import app as celery_app
from tests.conftest import World
from tests.factories import PASSWORD

PATIENTS = "/api/v1/patients/"
ACCEPT = "/api/v1/auth/invitation/accept/"
RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
NEW_PASSWORD = "Brand-new-bones-77"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DRUG_WORDS = ("anastrozole", "letrozole", "exemestane", "denosumab", "alendronate", "cancer", "osteopor", "aromatase")

Capture = Callable[..., AbstractContextManager[Any]]


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    # The worker's half (making the secrets, sending the email) runs in the test once the request commits.
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def enrol(client: APIClient, capture: Capture, email: str = "nora@example.org", **extra: Any) -> Any:
    body = {"email": email, "full_name": "Nora North", "birth_date": "1960-02-03", "timezone": "Europe/London"}
    with capture(execute=True):
        response = client.post(PATIENTS, {**body, **extra}, format="json")
    return response


def secrets_of(message: mail.EmailMessage) -> tuple[str, str]:
    body = str(message.body)
    token = re.search(r"#token=([A-Za-z0-9_\-]+)", body) or re.search(r"/password-reset/([A-Za-z0-9_\-]+)/", body)
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", body)
    assert token and code, message.body
    return token.group(1), code.group(1)


def invited(world: World, client_for, capture: Capture) -> tuple[User, str, str]:
    """Nora, enrolled by Cora without a password, and the token and code of her invitation email."""
    response = enrol(client_for(world.cora), capture)
    assert response.status_code == 201, response.content
    assert len(mail.outbox) == 1
    token, code = secrets_of(mail.outbox[0])
    return User.objects.get(email="nora@example.org"), token, code


# --- invitations ----------------------------------------------------------------------------------------------
def test_enrolment_without_a_password_sends_one_invitation_without_health_words(
    world: World, client_for, django_capture_on_commit_callbacks, settings
) -> None:
    settings.BONESYNC_APP_URL = "https://app.bonesync.example"
    user, token, code = invited(world, client_for, django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    assert message.to == ["nora@example.org"]
    assert "North Clinic" in message.subject
    assert f"https://app.bonesync.example/invitation#token={token}" in message.body
    text = f"{message.subject} {message.body}".lower()
    assert not [word for word in DRUG_WORDS if word in text]
    assert not user.has_usable_password()
    stored = AccountToken.objects.get(user=user)
    assert token not in str(stored.__dict__) and code not in str(stored.__dict__)  # only hashes are kept
    assert AuditEvent.objects.filter(resource="invitation", action="create", actor=world.cora).count() == 1


def test_enrolment_with_a_password_sends_nothing(world: World, client_for, django_capture_on_commit_callbacks):
    response = enrol(client_for(world.cora), django_capture_on_commit_callbacks, password=NEW_PASSWORD)
    assert response.status_code == 201
    assert mail.outbox == []
    assert User.objects.get(email="nora@example.org").check_password(NEW_PASSWORD)


def test_a_failed_enrolment_sends_no_email(world: World, client_for, django_capture_on_commit_callbacks) -> None:
    response = enrol(client_for(world.cora), django_capture_on_commit_callbacks, timezone="Mars/Olympus")
    assert response.status_code == 400
    assert mail.outbox == [] and not AccountToken.objects.exists()


def test_accept_by_token_sets_her_password_and_signs_her_in(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    user, token, _ = invited(world, client_for, django_capture_on_commit_callbacks)
    response = api.post(ACCEPT, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    me = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.json()["email"] == "nora@example.org"
    assert api.post(TOKEN, {"email": user.email, "password": NEW_PASSWORD}, format="json").status_code == 200
    assert AuditEvent.objects.filter(resource="invitation", action="update", actor=user).count() == 1
    # used once: the same token again is refused
    again = api.post(ACCEPT, {"token": token, "new_password": "Another-good-one-88"}, format="json")
    assert again.status_code == 400
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_accept_by_email_and_code_in_any_case(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    user, _, code = invited(world, client_for, django_capture_on_commit_callbacks)
    body = {"email": "Nora@Example.org ", "code": code.lower().replace("-", " "), "new_password": NEW_PASSWORD}
    response = api.post(ACCEPT, body, format="json")
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_expired_invitation_is_refused(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks, settings
) -> None:
    settings.INVITATION_TTL_HOURS = 72
    with time_machine.travel(NOW, tick=False) as traveller:
        user, token, code = invited(world, client_for, django_capture_on_commit_callbacks)
        traveller.move_to(NOW + timedelta(hours=71, minutes=59))
        detail = client_for(world.cora).get(f"{PATIENTS}{user.patient.id}/").json()
        assert detail["invitation"]["state"] == "pending"
        traveller.move_to(NOW + timedelta(hours=72))
        by_token = api.post(ACCEPT, {"token": token, "new_password": NEW_PASSWORD}, format="json")
        by_code = api.post(ACCEPT, {"email": user.email, "code": code, "new_password": NEW_PASSWORD}, format="json")
        detail = client_for(world.cora).get(f"{PATIENTS}{user.patient.id}/").json()
    assert by_token.status_code == by_code.status_code == 400
    assert by_token.json() == by_code.json()
    assert detail["invitation"]["state"] == "expired"
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_five_wrong_codes_kill_the_code_not_the_link(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    user, token, code = invited(world, client_for, django_capture_on_commit_callbacks)
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    answers = [
        api.post(ACCEPT, {"email": user.email, "code": wrong, "new_password": NEW_PASSWORD}, format="json")
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [400] * 5
    # now even the right code is refused; but the link in her mailbox still works (review: anyone knowing her email
    # could otherwise kill her invitation with five wrong codes)
    right = api.post(ACCEPT, {"email": user.email, "code": code, "new_password": NEW_PASSWORD}, format="json")
    assert right.status_code == 400
    assert client_for(world.cora).get(f"{PATIENTS}{user.patient.id}/").json()["invitation"]["state"] == "pending"
    link = api.post(ACCEPT, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert link.status_code == 200


def test_four_wrong_codes_then_the_right_one_works(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    user, _, code = invited(world, client_for, django_capture_on_commit_callbacks)
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    for _ in range(4):
        api.post(ACCEPT, {"email": user.email, "code": wrong, "new_password": NEW_PASSWORD}, format="json")
    right = api.post(ACCEPT, {"email": user.email, "code": code, "new_password": NEW_PASSWORD}, format="json")
    assert right.status_code == 200


def test_password_rules_apply_and_the_invitation_stays_usable(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    _, token, _ = invited(world, client_for, django_capture_on_commit_callbacks)
    for weak in ("short", "1234567890123", "          ", "password123"):
        response = api.post(ACCEPT, {"token": token, "new_password": weak}, format="json")
        assert response.status_code == 400
        assert "new_password" in response.json()["error"]["fields"], weak
    assert api.post(ACCEPT, {"token": token, "new_password": NEW_PASSWORD}, format="json").status_code == 200


def test_resend_invalidates_the_previous_invitation(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    user, old_token, old_code = invited(world, client_for, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.cora).post(f"{PATIENTS}{user.patient.id}/invitation/resend/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "pending"
    assert len(mail.outbox) == 2
    new_token, _ = secrets_of(mail.outbox[1])
    assert api.post(ACCEPT, {"token": old_token, "new_password": NEW_PASSWORD}, format="json").status_code == 400
    by_old_code = api.post(ACCEPT, {"email": user.email, "code": old_code, "new_password": NEW_PASSWORD}, format="json")
    assert by_old_code.status_code == 400
    assert api.post(ACCEPT, {"token": new_token, "new_password": NEW_PASSWORD}, format="json").status_code == 200
    assert AuditEvent.objects.filter(resource="invitation", action="create", patient_id=user.patient.id).count() == 2
    # once she has a password there is nothing to resend
    refused = client_for(world.cora).post(f"{PATIENTS}{user.patient.id}/invitation/resend/")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["invitation"]


def test_resend_is_scoped(world: World, client_for, django_capture_on_commit_callbacks) -> None:
    user, _, _ = invited(world, client_for, django_capture_on_commit_callbacks)
    url = f"{PATIENTS}{user.patient.id}/invitation/resend/"
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(world.zed).post(url).status_code == 404  # another organisation's coordinator
        assert client_for(world.cody).post(url).status_code == 404  # not her coordinator
        assert client_for(world.phil).post(url).status_code == 403  # her pharmacist: not a writer here
        assert client_for(user).post(url).status_code == 403
        assert client_for(world.admin).post(url).status_code == 202
    assert len(mail.outbox) == 2


def test_staff_see_her_invitation_state(world: World, client_for, api, django_capture_on_commit_callbacks) -> None:
    user, token, _ = invited(world, client_for, django_capture_on_commit_callbacks)
    url = f"{PATIENTS}{user.patient.id}/"
    pending = client_for(world.cora).get(url).json()["invitation"]
    assert pending["state"] == "pending" and pending["sent_at"] is not None
    api.post(ACCEPT, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    accepted = client_for(world.cora).get(url).json()["invitation"]
    assert accepted["state"] == "accepted" and accepted["accepted_at"] is not None
    assert client_for(world.cora).get(f"{PATIENTS}{world.ann.id}/").json()["invitation"] is None


def test_an_invitation_cannot_reset_a_password(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    """A reset email's link is no invitation, and an invitation's token does not confirm a reset."""
    _, token, _ = invited(world, client_for, django_capture_on_commit_callbacks)
    assert api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}, format="json").status_code == 400


# --- password reset ---------------------------------------------------------------------------------------------
def request_reset(api: APIClient, capture: Capture, email: str) -> Any:
    with capture(execute=True):
        return api.post(RESET, {"email": email}, format="json")


@pytest.mark.parametrize("who", ["ann", "cora", "phil", "admin"])
def test_reset_works_for_every_role_and_ends_old_sessions(
    world: World, api: APIClient, django_capture_on_commit_callbacks, who: str
) -> None:
    value = getattr(world, who)
    user: User = value.user if isinstance(value, Patient) else value
    old = api.post(TOKEN, {"email": user.email, "password": PASSWORD}, format="json")
    assert old.status_code == 200, old.content
    response = request_reset(api, django_capture_on_commit_callbacks, user.email)
    assert response.status_code == 202
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    token, _ = secrets_of(mail.outbox[0])
    # Patients reset in the app; staff in the console (apps/console/password_views.py).
    link = "/reset-password#token=" if who == "ann" else f"/console/password-reset/{token}/"
    assert link in mail.outbox[0].body
    done = api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert done.status_code == 204, done.content
    assert api.post(REFRESH, {"refresh": old.json()["refresh"]}, format="json").status_code == 401
    assert api.post(TOKEN, {"email": user.email, "password": NEW_PASSWORD}, format="json").status_code == 200
    assert api.post(CONFIRM, {"token": token, "new_password": "Third-password-99"}, format="json").status_code == 400
    assert AuditEvent.objects.filter(resource="password_reset", action="create", object_id=str(user.pk)).count() == 1
    assert AuditEvent.objects.filter(resource="password", action="update", actor=user).count() == 1


def test_reset_by_email_and_code(world: World, api: APIClient, django_capture_on_commit_callbacks) -> None:
    request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    _, code = secrets_of(mail.outbox[0])
    body = {"email": "cora@example.org", "code": code, "new_password": NEW_PASSWORD}
    assert api.post(CONFIRM, body, format="json").status_code == 204
    world.cora.refresh_from_db()
    assert world.cora.check_password(NEW_PASSWORD)


def test_a_reset_expires_after_an_hour(
    world: World, api: APIClient, django_capture_on_commit_callbacks, settings
) -> None:
    settings.PASSWORD_RESET_TTL_MINUTES = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
        token, _ = secrets_of(mail.outbox[0])
        traveller.move_to(NOW + timedelta(minutes=60))
        response = api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400
    world.cora.refresh_from_db()
    assert world.cora.check_password(PASSWORD)


def test_a_new_reset_request_invalidates_the_previous_link(
    world: World, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    first, _ = secrets_of(mail.outbox[0])
    second, _ = secrets_of(mail.outbox[1])
    assert api.post(CONFIRM, {"token": first, "new_password": NEW_PASSWORD}, format="json").status_code == 400
    assert api.post(CONFIRM, {"token": second, "new_password": NEW_PASSWORD}, format="json").status_code == 204


def test_unknown_and_inactive_emails_get_the_same_answer_and_no_email(
    world: World, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    world.phil.is_active = False
    world.phil.save(update_fields=["is_active"])
    known = request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    unknown = request_reset(api, django_capture_on_commit_callbacks, "nobody@example.org")
    inactive = request_reset(api, django_capture_on_commit_callbacks, "phil@example.org")
    assert known.status_code == unknown.status_code == inactive.status_code == 202
    assert known.content == unknown.content == inactive.content
    assert [m.to for m in mail.outbox] == [["cora@example.org"]]
    assert not AuditEvent.objects.filter(resource="password_reset").exclude(object_id=str(world.cora.pk)).exists()


def test_confirm_answers_alike_for_unknown_and_known_emails(
    world: World, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    _, code = secrets_of(mail.outbox[0])
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    known = api.post(CONFIRM, {"email": "cora@example.org", "code": wrong, "new_password": NEW_PASSWORD}, format="json")
    unknown = api.post(
        CONFIRM, {"email": "nobody@example.org", "code": wrong, "new_password": NEW_PASSWORD}, format="json"
    )
    no_reset = api.post(
        CONFIRM, {"email": "phil@example.org", "code": wrong, "new_password": NEW_PASSWORD}, format="json"
    )
    assert known.status_code == unknown.status_code == no_reset.status_code == 400
    assert known.content == unknown.content == no_reset.content


def test_a_reset_keeps_the_second_factor(
    world: World, api: APIClient, django_capture_on_commit_callbacks, settings
) -> None:
    settings.STAFF_MFA_REQUIRED = True
    request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    token, _ = secrets_of(mail.outbox[0])
    done = api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert done.status_code == 204 and done.content == b""  # no tokens: she signs in, code included
    response = api.post(TOKEN, {"email": "cora@example.org", "password": NEW_PASSWORD}, format="json")
    assert response.status_code == 400 and "otp_token" in response.json()["error"]["fields"]


def test_a_reset_lets_an_invited_patient_set_her_password(
    world: World, client_for, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    """She lost the invitation email: a reset works too, and her invitation is then no longer pending."""
    user, invitation_token, _ = invited(world, client_for, django_capture_on_commit_callbacks)
    request_reset(api, django_capture_on_commit_callbacks, user.email)
    token, _ = secrets_of(mail.outbox[1])
    assert api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}, format="json").status_code == 204
    late = api.post(ACCEPT, {"token": invitation_token, "new_password": "Another-good-one-88"}, format="json")
    assert late.status_code == 400
    assert client_for(world.cora).get(f"{PATIENTS}{user.patient.id}/").json()["invitation"]["state"] == "revoked"


# --- throttles ----------------------------------------------------------------------------------------------------
def _rates(monkeypatch: pytest.MonkeyPatch, **rates: str) -> None:
    for scope, rate in rates.items():
        monkeypatch.setitem(ResilientScopedRateThrottle.THROTTLE_RATES, scope, rate)


def test_reset_requests_are_throttled_per_email_address(
    world: World, api: APIClient, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rates(monkeypatch, password_reset="100/hour", password_reset_email="3/hour")
    answers = [request_reset(api, django_capture_on_commit_callbacks, "cora@example.org").status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]
    other = request_reset(api, django_capture_on_commit_callbacks, "nobody@example.org")
    assert other.status_code == 202  # another address is counted apart
    assert len(mail.outbox) == 3


@pytest.mark.parametrize(("url", "body"), [(RESET, {"email": "x@example.org"}), (ACCEPT, {"token": "t" * 43})])
def test_public_account_endpoints_are_throttled_per_client_address(
    world: World, api: APIClient, monkeypatch: pytest.MonkeyPatch, url: str, body: dict[str, str]
) -> None:
    _rates(monkeypatch, password_reset="2/hour", password_reset_email="100/hour", account_code="2/hour")
    body = {**body, "new_password": NEW_PASSWORD} if url == ACCEPT else body
    statuses = [api.post(url, body, format="json").status_code for _ in range(3)]
    assert statuses == [202, 202, 429] if url == RESET else [400, 400, 429]
    last = api.post(url, body, format="json")
    assert last.json()["error"]["code"] == "throttled" and "Retry-After" in last


# --- delivery -----------------------------------------------------------------------------------------------------
def test_an_invitation_lost_with_the_broker_is_sent_by_the_sweep_once(
    world: World, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.accounts.tasks import send_unsent_account_emails

    with time_machine.travel(NOW, tick=False) as traveller:
        # no commit callbacks run: the message that would have sent it is lost
        response = client_for(world.cora).post(
            PATIENTS,
            {"email": "nora@example.org", "birth_date": "1960-02-03", "timezone": "Europe/London"},
            format="json",
        )
        assert response.status_code == 201 and mail.outbox == []
        assert send_unsent_account_emails() == {"sent": 0, "failed": 0}  # too young: its message may still come
        traveller.move_to(NOW + timedelta(minutes=3))
        assert send_unsent_account_emails() == {"sent": 1, "failed": 0}
        assert send_unsent_account_emails() == {"sent": 0, "failed": 0}
    assert [m.to for m in mail.outbox] == [["nora@example.org"]]


def test_a_failing_mail_server_leaves_the_invitation_unsent_for_a_retry(
    world: World, client_for, django_capture_on_commit_callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.accounts.tasks import send_unsent_account_emails

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise ConnectionRefusedError("no mail server")

    with time_machine.travel(NOW, tick=False) as traveller:
        with monkeypatch.context() as patched:
            patched.setattr(mail.EmailMessage, "send", refuse)
            with suppress(ConnectionRefusedError):  # eager tasks keep the failure in their result; retries fail too
                enrol(client_for(world.cora), django_capture_on_commit_callbacks)
        user = User.objects.get(email="nora@example.org")
        detail = client_for(world.cora).get(f"{PATIENTS}{user.patient.id}/").json()["invitation"]
        assert detail["state"] == "pending" and detail["sent_at"] is None
        traveller.move_to(NOW + timedelta(minutes=3))
        assert send_unsent_account_emails()["sent"] == 1
        token, _ = secrets_of(mail.outbox[0])
        accepted = APIClient().post(ACCEPT, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    assert accepted.status_code == 200


def test_a_password_set_another_way_ends_a_pending_reset_link(
    world: World, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    """Review: someone with her mailbox asks for a reset; an admin then sets her a new password to lock them out.
    The emailed link must die with it, not stay usable for its hour."""
    request_reset(api, django_capture_on_commit_callbacks, "cora@example.org")
    token, code = secrets_of(mail.outbox[0])
    world.cora.set_password("Set-by-the-admin-42")
    world.cora.save()
    by_link = api.post(CONFIRM, {"token": token, "new_password": NEW_PASSWORD}, format="json")
    by_code = api.post(
        CONFIRM, {"email": "cora@example.org", "code": code, "new_password": NEW_PASSWORD}, format="json"
    )
    assert by_link.status_code == by_code.status_code == 400
    world.cora.refresh_from_db()
    assert world.cora.check_password("Set-by-the-admin-42")
