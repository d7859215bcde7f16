"""Two requests racing with the same client assertion: the unique (client, jti) constraint lets one through."""

import pytest

from apps.accounts.models import Organisation
from apps.fhir.models import FhirAccessToken, FhirAssertionUse
from tests.concurrency import at_once
from tests.fhir.smart_helpers import assertion, form_post, register, signing_key, token_request


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_replay_racing_the_first_use_is_refused() -> None:
    key = signing_key("RS384")
    client = register(Organisation.objects.create(name="Race Clinic"), key)
    body = token_request(assertion(client, key, jti="raced"))
    statuses = sorted(r.status_code for r in at_once(lambda: form_post(body), times=4))
    assert statuses == [200, 401, 401, 401]
    assert FhirAccessToken.objects.count() == 1 and FhirAssertionUse.objects.count() == 1
