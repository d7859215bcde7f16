"""Days of supply and when to refill (issue 17): pure, no ORM, no I/O.

The units on hand cover whole doses, taken on the plan's scheduled local dates from her today on (a date once per
dose that day: a supplement taken twice a day appears twice). The last of them is taken on `last_dose_on`;
`days_left` counts the days from her today to it (0: the last dose on hand is today's). A refill is due when the
supply left covers fewer than N days (`refill_warning_days`): when `days_left < N`. So with N = 7:

- a daily tablet, today's not yet taken: 8 tablets -> the last on today + 7, 7 days left: not due (exactly N);
  7 tablets -> today + 6: due;
- a weekly alendronate: the last tablet is always taken within 6 days (its weekday comes round within a week), two
  tablets reach at least 7 days: due exactly when one tablet is left, as the issue asks.

Exactly N days left is not due; N - 1 is. A plan that ends before its supply runs out needs no refill.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice

MAX_STOCK = 1000  # design (issue 17): more units than anyone keeps at home is a typing mistake
MAX_PACK_SIZE = 500  # design: the largest packs (calcium tubs) hold a few hundred
MAX_REFILL_PACKS = 12  # design: a year of monthly packs at once
MAX_UNITS_PER_DOSE = 10  # design
MAX_WARNING_DAYS = 90  # design
DEFAULT_WARNING_DAYS = 7  # issue 17: N, per item
REPEAT_AFTER_DAYS = 3  # design: an unanswered refill reminder comes once more, this many days later


@dataclass(frozen=True)
class Supply:
    doses_left: int  # whole doses the units on hand cover
    last_dose_on: date | None  # her local date of the last of them; None: not one whole dose left
    refill_due_on: date | None  # first local date on which a refill is due; None: the plan ends before it runs out


def supply(*, units: int, units_per_dose: int, doses: Iterable[date], warning_days: int, today: date) -> Supply:
    """The supply `units` covers. `doses`: one local date per dose still to take from her today on, ascending (today's
    doses already taken left out), finite when the plan ends."""
    if units_per_dose < 1:
        raise ValueError("units_per_dose must be at least 1")
    covered = max(units, 0) // units_per_dose
    upcoming = list(islice(doses, covered + 1))
    last = upcoming[covered - 1] if 0 < covered <= len(upcoming) else (upcoming[-1] if upcoming else None)
    if len(upcoming) <= covered:  # the plan ends before the supply does
        return Supply(covered, last, None)
    if covered == 0:  # nothing on hand for the next dose: due now
        return Supply(0, None, today)
    assert last is not None
    # days_left(d) = (last - d).days < N  <=>  d > last - N  <=>  d >= last - N + 1
    return Supply(covered, last, last - timedelta(days=warning_days - 1))


def days_left(last_dose_on: date | None, today: date) -> int:
    """Days from her today to the last dose on hand (0: today's is the last; none on hand: 0)."""
    if last_dose_on is None:
        return 0
    return max((last_dose_on - today).days, 0)


def refill_anchor(*, previous: date | None, projected: date | None, today: date, recount: bool) -> date | None:
    """The date the refill need is kept under (the reminders' anchor). A need already open (its date today or
    earlier) stays open through her doses, even if they drift from the plan, until a refill, a count or a change of
    the item's settings (`recount`) looks again: one need, one pair of reminders. A need found already due opens
    today."""
    if projected is None:
        return None
    if not recount and previous is not None and previous <= today:
        return previous
    return max(projected, today)
