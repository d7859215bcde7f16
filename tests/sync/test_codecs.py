"""Column codecs: what the app receives comes back unchanged when it pushes it (no false differences)."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.sync import codecs
from apps.sync.codecs import InvalidValueError


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_instants_round_trip_to_the_millisecond(at: datetime) -> None:
    ms = codecs.INSTANT.to_client(at)
    assert isinstance(ms, int)
    assert codecs.INSTANT.normalise(ms) == ms
    assert abs((codecs.INSTANT.from_client(ms) - at).total_seconds()) < 0.001


@pytest.mark.parametrize(
    ("codec", "stored", "sent"),
    [
        (codecs.DECIMAL, Decimal("164.0"), 164),
        (codecs.TIME, time(7, 0), "07:00"),
        (codecs.DATE, date(2026, 3, 1), "2026-03-01"),
        (codecs.JSON_LIST, ["08:00", "20:00"], '["08:00", "20:00"]'),
        (codecs.UUID.or_null(), None, ""),
    ],
)
def test_equal_values_compare_equal(codec: codecs.Codec, stored: object, sent: object) -> None:
    assert codec.normalise(sent) == (None if stored is None else codec.to_client(stored))


@pytest.mark.parametrize(
    ("codec", "sent"),
    [
        (codecs.INSTANT, "2026-03-01"),
        (codecs.INSTANT, -5),
        (codecs.INSTANT, True),
        (codecs.INTEGER, 1.5),
        (codecs.BOOLEAN, "true"),
        (codecs.DATE, "2026-3-1"),
        (codecs.TIME, "07:00+01:00"),
        (codecs.UUID, "not-a-uuid"),
        (codecs.TEXT, None),
        (codecs.DECIMAL, float("nan")),
        (codecs.JSON_LIST, "{}"),
    ],
)
def test_wrong_types_are_refused(codec: codecs.Codec, sent: object) -> None:
    with pytest.raises(InvalidValueError):
        codec.from_client(sent)
