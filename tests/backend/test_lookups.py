"""`among(field, values)` selects what `field__in=values` selects, binding the values as one array on PostgreSQL."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Patient
from backend.lookups import among
from tests.conftest import World


def test_among_selects_what_in_selects_and_nothing_for_no_values(world: World) -> None:
    wanted = [world.ann.pk, world.zoe.pk]
    assert set(Patient.objects.filter(among("pk", wanted))) == set(Patient.objects.filter(pk__in=wanted))
    assert set(Patient.objects.filter(among("user_id", [world.bea.user_id]))) == {world.bea}
    assert list(Patient.objects.filter(among("pk", []))) == []


def test_among_binds_many_values_as_one_parameter_on_postgresql(world: World) -> None:
    with CaptureQueriesContext(connection) as queries:
        list(Patient.objects.filter(among("pk", [world.ann.pk, world.bea.pk, world.zoe.pk])))
    (sql,) = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql
    else:
        assert " IN (" in sql
