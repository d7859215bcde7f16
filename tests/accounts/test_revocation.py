"""Refresh tokens end when they should (issue 12, findings 6 and 7): one rotation per token even when raced, every
refresh token of an account revoked when its password changes or is removed (by any path), and no whitespace-only
passwords."""

from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.models import User
from tests.concurrency import at_once
from tests.conftest import World
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
NEW_PASSWORD = "Femur-Density-2027"


def sign_in(email: str, password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post(TOKEN, {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return dict(response.json())


def refresh_status(refresh: str) -> int:
    return int(APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_of_one_token_mint_one_pair(world: World) -> None:
    refresh = sign_in("ann@example.org")["refresh"]
    minted: list[str] = []

    def rotate() -> int:
        response = APIClient().post(REFRESH, {"refresh": refresh}, format="json")
        if response.status_code == 200:
            minted.append(response.json()["refresh"])
        return int(response.status_code)

    assert sorted(at_once(rotate, times=6)) == [200] + [401] * 5
    assert OutstandingToken.objects.filter(user=world.ann.user).count() == 2  # the signed-in one and its successor
    assert refresh_status(minted[0]) == 200  # the winner's token works


def admin_client(world: World) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


@pytest.mark.parametrize("usable", ["true", "false"], ids=["new-password", "password-removed"])
def test_an_admin_password_change_revokes_every_refresh_token(world: World, usable: str) -> None:
    phone, tablet = sign_in("ann@example.org"), sign_in("ann@example.org")
    cora = sign_in("cora@example.org")
    response = admin_client(world).post(
        f"/admin/accounts/user/{world.ann.user.id}/password/",
        {"usable_password": usable, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        | ({"unset-password": "1"} if usable == "false" else {}),
    )
    assert response.status_code == 302, response.content
    assert User.objects.get(pk=world.ann.user.pk).has_usable_password() == (usable == "true")
    assert refresh_status(phone["refresh"]) == 401
    assert refresh_status(tablet["refresh"]) == 401
    assert refresh_status(cora["refresh"]) == 200  # other accounts keep theirs
    if usable == "true":
        assert refresh_status(sign_in("ann@example.org", NEW_PASSWORD)["refresh"]) == 200


def test_the_changepassword_command_revokes_every_refresh_token(world: World) -> None:
    tokens = sign_in("cora@example.org")
    with mock.patch.object(changepassword.Command, "_get_pass", return_value=NEW_PASSWORD):
        call_command("changepassword", "cora@example.org", stdout=mock.Mock())
    assert refresh_status(tokens["refresh"]) == 401
    assert refresh_status(sign_in("cora@example.org", NEW_PASSWORD)["refresh"]) == 200


def test_a_hash_upgrade_at_sign_in_is_no_password_change(world: World) -> None:
    User.objects.filter(pk=world.cora.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    earlier = sign_in("cora@example.org")  # rehashed to argon2 on this sign-in
    sign_in("cora@example.org")
    assert identify_hasher(User.objects.get(pk=world.cora.pk).password).algorithm == "argon2"
    assert refresh_status(earlier["refresh"]) == 200


def test_saving_a_user_without_a_new_password_keeps_her_tokens(world: World) -> None:
    tokens = sign_in("cora@example.org")
    cora = User.objects.get(pk=world.cora.pk)
    cora.full_name = "Cora Cole"
    cora.save()
    assert refresh_status(tokens["refresh"]) == 200


@pytest.mark.parametrize(
    ("password", "refused"),
    [(" " * 12, True), ("\t \n\u00a0" * 4, True), ("     Tibia-9     ", False)],
    ids=["spaces", "tabs-newlines-nbsp", "spaces-around-a-word"],
)
@pytest.mark.parametrize("path", ["staff", "patient"])
def test_whitespace_only_passwords_are_refused(
    world: World, client_for: Any, path: str, password: str, refused: bool
) -> None:
    if path == "staff":
        author, url = world.admin, "/api/v1/staff/"
        body = {"role": "pharmacist", "organisation": str(world.org_a.id)}
    else:
        author, url = world.cora, "/api/v1/patients/"
        body = {"birth_date": "1961-02-03", "timezone": "Europe/Berlin"}
    response = client_for(author).post(
        url, {"email": "new.person@example.org", "password": password, **body}, format="json"
    )
    if refused:
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["fields"]["password"] == [
            "This password is only spaces. Choose one with letters, digits or symbols."
        ]
        assert not User.objects.filter(email="new.person@example.org").exists()
    else:
        assert response.status_code == 201, response.content


def test_the_admin_refuses_a_whitespace_only_password(world: World) -> None:
    spaces = " " * 12
    response = admin_client(world).post(
        f"/admin/accounts/user/{world.cora.id}/password/",
        {"usable_password": "true", "password1": spaces, "password2": spaces},
    )
    assert response.status_code == 200
    assert "This password is only spaces." in response.content.decode()
    assert User.objects.get(pk=world.cora.pk).check_password(PASSWORD)
