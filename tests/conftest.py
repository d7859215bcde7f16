"""Shared fixtures: a world of two organisations with every role, API clients per user, service checks."""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from apps.accounts.models import Organisation, Patient, User
from backend.roles import Role
from tests.factories import AdminFactory, CareTeamFactory, OrganisationFactory, PatientFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("BONESYNC_REQUIRE_SERVICES") == "1"

# Property tests check answers, not speed: on a loaded 2-core CI machine one example of a pure rule can exceed
# Hypothesis' default 200 ms deadline, which failed a correct test (speed is measured under bench/).
hypothesis_settings.register_profile("bonesync", deadline=None)
hypothesis_settings.load_profile("bonesync")


def _missing_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing_service("needs PostgreSQL (set DATABASE_URL)")
    if request.node.get_closest_marker("redis"):
        import redis

        url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        except redis.RedisError:
            _missing_service(f"needs Redis at {url}")


@pytest.fixture(autouse=True)
def _catalogue_after_flush(request: pytest.FixtureRequest) -> None:
    # Transactional tests flush tables between tests, data-migration rows included: put the catalogue back.
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        from apps.medications.catalogue import catalogue_sync
        from apps.medications.models import Medication

        request.getfixturevalue("transactional_db")
        catalogue_sync(Medication)


def clear_cache() -> None:
    """Empty this test run's cache. Under xdist the workers share one Redis database, each with its own key prefix
    (tests/parallel.py): a worker deletes only its own keys, never the other's in the middle of a test."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if not prefix or not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        cache.clear()
        return
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + ":*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Throttle counters live in the cache; one test's logins must not throttle the next.
    clear_cache()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@dataclass
class World:
    """Two organisations. In org A: patient Ann (coordinator Cora assigned), patient Bea (nobody assigned),
    coordinator Cora, coordinator Cody (no patients), pharmacist Phil. In org B: patient Zoe with coordinator Zed
    and pharmacist Pia. Plus a platform admin."""

    org_a: Organisation
    org_b: Organisation
    ann: Patient
    bea: Patient
    zoe: Patient
    cora: User
    cody: User
    phil: User
    zed: User
    pia: User
    admin: User


@pytest.fixture
def world(db: None) -> World:
    org_a = OrganisationFactory.create(name="North Clinic")
    org_b = OrganisationFactory.create(name="South Clinic")
    ann = PatientFactory.create(organisation=org_a, user__email="ann@example.org", user__full_name="Ann Archer")
    bea = PatientFactory.create(organisation=org_a, user__email="bea@example.org", user__full_name="Bea Baker")
    zoe = PatientFactory.create(organisation=org_b, user__email="zoe@example.org", user__full_name="Zoe Zane")
    cora = UserFactory.create(organisation=org_a, role=Role.COORDINATOR, email="cora@example.org")
    cody = UserFactory.create(organisation=org_a, role=Role.COORDINATOR, email="cody@example.org")
    phil = UserFactory.create(organisation=org_a, role=Role.PHARMACIST, email="phil@example.org")
    zed = UserFactory.create(organisation=org_b, role=Role.COORDINATOR, email="zed@example.org")
    pia = UserFactory.create(organisation=org_b, role=Role.PHARMACIST, email="pia@example.org")
    CareTeamFactory.create(patient=ann, staff=cora)
    CareTeamFactory.create(patient=zoe, staff=zed)
    admin = AdminFactory.create(email="admin@example.org")
    return World(org_a, org_b, ann, bea, zoe, cora, cody, phil, zed, pia, admin)
