"""Sign-in limits (issue 12, findings 2 and 5): attempts per client address, failed sign-ins per account and per
address, token refresh and logout on their own counts, the client address behind a trusted proxy, the same limits
on the console's and the admin's sign-in."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.conftest import World
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(api: APIClient, email: str, password: str = PASSWORD, **meta: Any) -> Any:
    return api.post(TOKEN, {"email": email, "password": password}, format="json", **meta)


def from_address(n: int) -> dict[str, Any]:
    return {"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250 + 1}"}


def test_wrong_passwords_do_not_block_token_refresh_or_logout(world: World, api: APIClient) -> None:
    mine = sign_in(api, "ann@example.org", **from_address(0)).json()
    theirs = sign_in(api, "bea@example.org", **from_address(1)).json()
    statuses = [sign_in(api, "cora@example.org", f"guess-{n}", **from_address(0)).status_code for n in range(10)]
    # 9 more, as the attempt before them was Ann's own sign-in: the address's attempts are spent.
    assert statuses[:9] == [401] * 9 and statuses[9] == 429
    # The apps behind that address (and any other) keep refreshing and signing out: those have their own counts.
    same_address = api.post(REFRESH, {"refresh": mine["refresh"]}, format="json", **from_address(0))
    assert same_address.status_code == 200, same_address.content
    other_address = api.post(REFRESH, {"refresh": theirs["refresh"]}, format="json", **from_address(1))
    assert other_address.status_code == 200
    logout = api.post(LOGOUT, {"refresh": same_address.json()["refresh"]}, format="json", **from_address(0))
    assert logout.status_code == 204


def test_failed_sign_ins_lock_the_account_across_addresses_until_the_window_passes(
    world: World, api: APIClient, clock: Any
) -> None:
    for n in range(10):  # ten addresses, one wrong password each: no address reaches its own limits
        assert sign_in(api, "Cora@Example.org", f"guess-{n}", **from_address(n)).status_code == 401
    blocked = sign_in(api, "cora@example.org", **from_address(99))  # the right password, a fresh address
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert blocked.json()["error"]["message"].startswith("Too many failed sign-in attempts.")
    assert blocked["Retry-After"] == "900"  # 15 minutes after the failures
    assert sign_in(api, "ann@example.org", **from_address(99)).status_code == 200  # another account is not locked
    clock.shift(timedelta(minutes=15) - timedelta(seconds=1))
    still = sign_in(api, "cora@example.org", **from_address(98))
    assert still.status_code == 429 and still["Retry-After"] == "1"
    clock.shift(timedelta(seconds=1))
    assert sign_in(api, "cora@example.org", **from_address(97)).status_code == 200


def test_a_locked_account_answers_like_an_unknown_email(world: World, api: APIClient, clock: Any) -> None:
    """The clock stands still: under load the two locks would start a second apart and Retry-After differ."""
    answers = {}
    for email in ["cora@example.org", "nobody@example.org"]:
        for n in range(10):
            assert sign_in(api, email, f"guess-{n}", **from_address(n)).status_code == 401
        answers[email] = sign_in(api, email, "guess-10", **from_address(50))
    known, unknown = answers.values()
    assert known.status_code == unknown.status_code == 429
    assert known.json() == unknown.json()
    assert known["Retry-After"] == unknown["Retry-After"]


def test_nine_failures_leave_the_account_open(world: World, api: APIClient) -> None:
    for n in range(9):
        assert sign_in(api, "cora@example.org", f"guess-{n}", **from_address(n)).status_code == 401
    assert sign_in(api, "cora@example.org", **from_address(20)).status_code == 200


def test_failed_sign_ins_from_one_address_are_limited_across_accounts(world: World, api: APIClient, clock: Any) -> None:
    # Credential stuffing, slowed down to stay under the per-minute attempt rate: 30 failures in 15 minutes.
    for n in range(30):
        assert sign_in(api, f"person-{n}@example.org", "guess", **from_address(0)).status_code == 401
        clock.shift(timedelta(seconds=20))
    assert sign_in(api, "ann@example.org", **from_address(0)).status_code == 429
    assert sign_in(api, "ann@example.org", **from_address(1)).status_code == 200


def test_the_sign_in_attempts_of_one_address_do_not_limit_another(world: World, api: APIClient) -> None:
    assert [sign_in(api, f"p{n}@example.org", "x", **from_address(0)).status_code for n in range(11)][10] == 429
    assert sign_in(api, "ann@example.org", **from_address(1)).status_code == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_count(world: World, api: APIClient, settings: Any) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}  # TRUSTED_PROXY_COUNT=1
    proxy = {"REMOTE_ADDR": "172.18.0.2"}
    first = [
        sign_in(api, f"p{n}@example.org", "x", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy).status_code
        for n in range(11)
    ]
    assert first[:10] == [401] * 10 and first[10] == 429
    # Another client through the same proxy has her own count; the proxy appends the address it saw to the header.
    other = sign_in(api, "ann@example.org", HTTP_X_FORWARDED_FOR="forged, 198.51.100.7", **proxy)
    assert other.status_code == 200


def test_without_a_trusted_proxy_a_forged_forwarded_for_gives_no_fresh_count(world: World, api: APIClient) -> None:
    statuses = [
        sign_in(api, f"p{n}@example.org", "x", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(11)
    ]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert sign_in(api, "ann@example.org", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_token_refresh_has_its_own_per_account_limit(world: World, api: APIClient) -> None:
    refresh = sign_in(api, "ann@example.org").json()["refresh"]
    others = sign_in(api, "bea@example.org").json()["refresh"]
    for _ in range(60):  # REFRESH_THROTTLE_RATE: 60 an hour per account, from any address
        response = api.post(REFRESH, {"refresh": refresh}, format="json")
        assert response.status_code == 200
        refresh = response.json()["refresh"]
    blocked = api.post(REFRESH, {"refresh": refresh}, format="json", **from_address(7))
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert int(blocked["Retry-After"]) > 3500
    assert api.post(REFRESH, {"refresh": others}, format="json").status_code == 200  # Bea's app, same address


def test_the_console_sign_in_shares_the_account_lock(world: World, api: APIClient) -> None:
    for n in range(10):
        assert sign_in(api, "cora@example.org", f"guess-{n}", **from_address(n)).status_code == 401
    client = Client(**from_address(30))
    response = client.post("/console/login/", {"username": "cora@example.org", "password": PASSWORD})
    assert response.status_code == 429 and "Too many sign-in attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("addresses", ["one", "many"])
def test_the_admin_sign_in_is_limited_and_the_11th_attempt_is_not_checked(world: World, addresses: str) -> None:
    check = mock.patch.object(User, "check_password", autospec=True, side_effect=User.check_password)
    with check as checked:
        statuses = []
        for n in range(10):
            client = Client(**from_address(0 if addresses == "one" else n))
            form = {"username": "admin@example.org", "password": f"guess-{n}-wrong"}
            statuses.append(client.post("/admin/login/", form).status_code)
        assert statuses == [200] * 10  # the form again, with its error
        assert checked.call_count == 10
        client = Client(**from_address(0 if addresses == "one" else 10))
        eleventh = client.post("/admin/login/", {"username": "admin@example.org", "password": PASSWORD})
        assert checked.call_count == 10  # refused before the password was looked at
    assert eleventh.status_code == 429
    assert int(eleventh["Retry-After"]) > 0
    assert "sign-in is paused" in eleventh.content.decode()
    assert "_auth_user_id" not in client.session
