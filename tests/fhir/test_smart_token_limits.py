"""Rate limits on the SMART token endpoint: per client (verified assertions) and per client address (every POST),
429 with Retry-After and an OAuth error body (issue 16; README "SMART Backend Services")."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client

from apps.fhir.models import FhirAccessToken, FhirAssertionUse
from tests.conftest import World
from tests.fhir.smart_helpers import TOKEN_PATH, assertion, register, signing_key, token_request

pytestmark = pytest.mark.django_db

START = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)


def post(data: dict[str, str], address: str = "203.0.113.7") -> Any:
    return Client().post(
        TOKEN_PATH, urlencode(data), content_type="application/x-www-form-urlencoded", REMOTE_ADDR=address
    )


def assert_limited(response: Any, who: str) -> int:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["error"] == "invalid_request"
    assert f"Too many token requests from this {who}" in body["error_description"]
    assert response["Cache-Control"] == "no-store"
    seconds = int(response["Retry-After"])
    assert 0 < seconds <= 60
    return seconds


def test_the_31st_token_request_of_a_client_in_a_minute_waits_and_others_do_not(world: World) -> None:
    key = signing_key("ES384")
    ehr, other = register(world.org_a, key, name="North EHR"), register(world.org_a, key, name="Lab system")
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(30):
            assert post(token_request(assertion(ehr, key))).status_code == 200
        refused = assertion(ehr, key)
        traveller.shift(timedelta(seconds=20))
        seconds = assert_limited(post(token_request(refused)), "client")
        assert seconds == 40  # the oldest of the 30 ages out of the minute then
        assert FhirAccessToken.objects.filter(client=ehr).count() == 30  # no token for the 31st
        # Another client, from the same address, is not held back by the first one's count.
        assert post(token_request(assertion(other, key))).status_code == 200

        traveller.shift(timedelta(seconds=seconds))
        # The refused assertion was not spent (the limit comes before its jti is recorded): it works now.
        response = post(token_request(refused))
        assert response.status_code == 200, response.content
        assert FhirAccessToken.objects.filter(client=ehr).count() == 31


def test_a_client_is_counted_only_for_assertions_that_verify(world: World, settings: Any) -> None:
    """Junk claiming a client's id (no valid signature) cannot spend that client's budget."""
    settings.FHIR_TOKEN_CLIENT_RATE = "2/minute"
    key, stranger = signing_key("ES384"), signing_key("ES384", kid="es384-key")  # the same kid, another key
    ehr = register(world.org_a, key)
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            response = post(token_request(assertion(ehr, stranger)), address="198.51.100.9")
            assert response.status_code == 401
        assert post(token_request(assertion(ehr, key))).status_code == 200
        assert post(token_request(assertion(ehr, key))).status_code == 200
        assert_limited(post(token_request(assertion(ehr, key))), "client")


def test_every_request_from_an_address_counts_and_other_addresses_are_not_held(world: World, settings: Any) -> None:
    settings.FHIR_TOKEN_ADDRESS_RATE = "5/minute"
    key = signing_key("ES384")
    ehr = register(world.org_a, key)
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            assert post({"grant_type": "password"}).status_code == 400  # refused requests count too
        seconds = assert_limited(post(token_request(assertion(ehr, key))), "address")
        assert not FhirAssertionUse.objects.exists()  # refused before the assertion was even read
        assert post(token_request(assertion(ehr, key)), address="192.0.2.44").status_code == 200
        traveller.shift(timedelta(seconds=seconds))
        assert post(token_request(assertion(ehr, key))).status_code == 200
