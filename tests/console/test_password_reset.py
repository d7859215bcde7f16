"""The console's "Forgot your password?" pages (issue 17): staff ask for a reset email, follow its link, choose a
new password; the answer never says whether an email has an account; the token leaves the address bar at once."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from apps.accounts.models import User
from backend.models import AuditEvent
from backend.throttles import ResilientScopedRateThrottle
from config.celery_app import app as celery_app
from tests.conftest import World
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Brand-new-bones-77"


@pytest.fixture(autouse=True)
def _eager_tasks() -> Iterator[None]:
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def ask(client: Client, capture: Any, email: str) -> Any:
    with capture(execute=True):
        return client.post("/console/password-reset/", {"email": email})


def link_in(message: Any) -> str:
    found = re.search(r"https?://\S+/console(/password-reset/[A-Za-z0-9_\-]+/)", str(message.body))
    assert found, message.body
    return "/console" + found.group(1)


def test_the_sign_in_page_offers_a_reset(world: World) -> None:
    page = Client().get("/console/login/").content.decode()
    assert 'href="/console/password-reset/"' in page


def test_a_coordinator_resets_her_password_in_the_console(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.BONESYNC_CONSOLE_URL = "https://care.bonesync.example/console"
    browser = Client()
    answer = ask(browser, django_capture_on_commit_callbacks, "cora@example.org")
    assert answer.status_code == 200 and b"Check your email" in answer.content
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["cora@example.org"]
    assert "https://care.bonesync.example/console/password-reset/" in mail.outbox[0].body
    link = link_in(mail.outbox[0])

    opened = browser.get(link)
    assert (
        opened.status_code == 302 and opened["Location"] == "/console/password-reset/set/"
    )  # the token leaves the URL
    form = browser.get("/console/password-reset/set/")
    assert form.status_code == 200 and b"Choose a new password" in form.content
    assert link.split("/")[-2].encode() not in form.content

    differ = browser.post("/console/password-reset/set/", {"new_password": NEW_PASSWORD, "repeat": "other-thing-1"})
    assert differ.status_code == 400 and b"The two passwords differ." in differ.content
    weak = browser.post("/console/password-reset/set/", {"new_password": "12345678901", "repeat": "12345678901"})
    assert weak.status_code == 400  # the password rules apply, and the link stays usable
    done = browser.post("/console/password-reset/set/", {"new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 200 and b"Your password is changed" in done.content

    cora = User.objects.get(email="cora@example.org")
    assert cora.check_password(NEW_PASSWORD) and not cora.check_password(PASSWORD)
    assert AuditEvent.objects.filter(resource="password", action="update", actor=cora).count() == 1
    again = Client()
    assert again.get(link).status_code == 302
    used = again.post("/console/password-reset/set/", {"new_password": "Another-one-88", "repeat": "Another-one-88"})
    assert used.status_code == 400 and b"not valid any more" in used.content
    assert User.objects.get(pk=cora.pk).check_password(NEW_PASSWORD)


def test_an_unknown_email_gets_the_same_answer_and_no_email(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    known = ask(Client(), django_capture_on_commit_callbacks, "cora@example.org")
    unknown = ask(Client(), django_capture_on_commit_callbacks, "nobody@example.org")
    assert (unknown.status_code, unknown.content) == (known.status_code, known.content)
    assert [m.to for m in mail.outbox] == [["cora@example.org"]]


def test_the_set_page_without_a_link_or_with_a_made_up_one_changes_nothing(world: World) -> None:
    browser = Client()
    alone = browser.get("/console/password-reset/set/")
    assert alone.status_code == 200 and b"not valid any more" in alone.content
    posted = browser.post("/console/password-reset/set/", {"new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert posted.status_code == 400
    browser.get("/console/password-reset/" + "x" * 43 + "/")
    made_up = browser.post("/console/password-reset/set/", {"new_password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert made_up.status_code == 400 and b"not valid any more" in made_up.content
    assert User.objects.get(pk=world.cora.pk).check_password(PASSWORD)


def test_requests_share_the_apis_throttle_per_email(
    world: World, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = {
        **ResilientScopedRateThrottle.THROTTLE_RATES,
        "password_reset": "100/hour",
        "password_reset_email": "2/hour",
    }
    monkeypatch.setattr(ResilientScopedRateThrottle, "THROTTLE_RATES", rates)
    api = Client()
    with django_capture_on_commit_callbacks(execute=True):
        reset = api.post("/api/v1/auth/password-reset/", {"email": "cora@example.org"}, content_type="application/json")
        assert reset.status_code == 202
    assert ask(Client(), django_capture_on_commit_callbacks, "cora@example.org").status_code == 200
    paused = ask(Client(), django_capture_on_commit_callbacks, "cora@example.org")
    assert paused.status_code == 429 and b"password reset requests" in paused.content
    assert len(mail.outbox) == 2
