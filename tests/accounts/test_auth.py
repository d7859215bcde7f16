"""Sign-in, rotation, revocation, throttling and password storage."""

import pytest
from django.contrib.auth.hashers import identify_hasher
from rest_framework.test import APIClient

from apps.accounts.models import User
from backend.roles import Role
from tests.conftest import World
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"


def sign_in(api: APIClient, email: str, password: str = PASSWORD):
    return api.post(TOKEN, {"email": email, "password": password}, format="json")


def test_sign_in_returns_tokens_that_open_me(world: World, api: APIClient) -> None:
    response = sign_in(api, "Cora@Example.org ")  # email is case- and whitespace-insensitive
    assert response.status_code == 200, response.content
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    me = api.get("/api/v1/me/").json()
    assert me == {
        "id": str(world.cora.id),
        "email": "cora@example.org",
        "full_name": world.cora.full_name,
        "role": "coordinator",
        "organisation": str(world.org_a.id),
        "patient_id": None,
    }


def test_patient_me_names_her_patient_id(world: World, api: APIClient) -> None:
    access = sign_in(api, "ann@example.org").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.get("/api/v1/me/").json()["patient_id"] == str(world.ann.id)


def test_wrong_password_is_401_in_the_error_shape(world: World, api: APIClient) -> None:
    response = sign_in(api, "cora@example.org", "not-the-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "no_active_account"


def test_deactivated_user_cannot_sign_in(world: World, api: APIClient) -> None:
    User.objects.filter(pk=world.cora.pk).update(is_active=False)
    assert sign_in(api, "cora@example.org").status_code == 401


def test_refresh_rotates_and_the_old_refresh_token_is_revoked(world: World, api: APIClient) -> None:
    first = sign_in(api, "cora@example.org").json()
    rotated = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    replay = api.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "token_not_valid"


def test_logout_revokes_the_refresh_token(world: World, api: APIClient) -> None:
    tokens = sign_in(api, "cora@example.org").json()
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    after = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert after.status_code == 401


def test_logout_with_garbage_token_is_400(api: APIClient, db: None) -> None:
    response = api.post(LOGOUT, {"refresh": "garbage"}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()["error"]["fields"]


def test_tampered_access_token_is_401(world: World, api: APIClient) -> None:
    access = sign_in(api, "cora@example.org").json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access[:-2]}xx")
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_brute_force_on_sign_in_gets_429(world: World, api: APIClient) -> None:
    statuses = [sign_in(api, "cora@example.org", f"guess-{n}").status_code for n in range(12)]
    assert statuses[:10] == [401] * 10  # DRF throttle: 10/minute per client address by default
    assert statuses[10:] == [429, 429]
    blocked = sign_in(api, "cora@example.org")  # even the right password waits
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert "Retry-After" in blocked.headers


def test_passwords_are_stored_with_argon2(world: World, api: APIClient, client_for) -> None:
    response = client_for(world.admin).post(
        "/api/v1/staff/",
        {
            "email": "new.nurse@example.org",
            "password": "Calcium+VitaminD-800",
            "role": "coordinator",
            "organisation": str(world.org_a.id),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    stored = User.objects.get(email="new.nurse@example.org").password
    assert identify_hasher(stored).algorithm == "argon2"
    assert sign_in(api, "new.nurse@example.org", "Calcium+VitaminD-800").status_code == 200


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("8364928374651", "entirely numeric"),
        ("new.nurse@example", "similar"),
    ],
)
def test_weak_passwords_are_refused(world: World, client_for, password: str, why: str) -> None:
    response = client_for(world.admin).post(
        "/api/v1/staff/",
        {
            "email": "new.nurse@example.org",
            "password": password,
            "role": "pharmacist",
            "organisation": str(world.org_a.id),
        },
        format="json",
    )
    assert response.status_code == 400
    assert why in " ".join(response.json()["error"]["fields"]["password"]).lower()
    assert not User.objects.filter(email="new.nurse@example.org").exists()


def test_refresh_after_the_account_is_deleted_is_401(world: World) -> None:
    User.objects.create_user("leaver@example.org", PASSWORD, role=Role.COORDINATOR, organisation=world.org_a)
    pair = APIClient().post(TOKEN, {"email": "leaver@example.org", "password": PASSWORD}, format="json")
    assert pair.status_code == 200, pair.content
    User.objects.filter(email="leaver@example.org").delete()
    response = APIClient().post(REFRESH, {"refresh": pair.json()["refresh"]}, format="json")
    assert response.status_code == 401  # not a 500: the token outlived its account
    assert response.json()["error"]["code"] == "no_active_account"
