"""Calendar arithmetic shared by the pure rules (no Django, no I/O)."""

import calendar
from datetime import date


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamping the day to the end of the target month (Aug 31 + 6 -> Feb 28/29)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


# Every date a client sends (REST bodies and query parameters, sync pushes) lies in these bounds (issue 12): nothing
# before 1900 (no patient of this service was born earlier, no record predates her), nothing more than ten years
# ahead (an aromatase inhibitor course is 5 to 10 years; a plan end or a query window past that is a typo or an
# attack). Fields with tighter rules (a schedule starts at most a year ahead, a dose is never in the future) keep
# them. Year 1 or 9999 never reaches date arithmetic, which would overflow.
EARLIEST_DATE = date(1900, 1, 1)
YEARS_AHEAD = 10


def latest_date(today: date) -> date:
    return add_months(today, 12 * YEARS_AHEAD)


def date_bound_errors(value: date, today: date, *, earliest: date | None = None) -> list[str]:
    """Why `value` is outside the accepted dates (empty when it is inside); `earliest` raises the lower bound (e.g.
    her birth date)."""
    floor = max(EARLIEST_DATE, earliest) if earliest is not None else EARLIEST_DATE
    if value < floor:
        if floor == EARLIEST_DATE:
            return [f"Must be on or after {floor.isoformat()}."]
        return [f"Must be on or after her birth date ({floor.isoformat()})."]
    ceiling = latest_date(today)
    if value > ceiling:
        return [f"Must be no later than {ceiling.isoformat()} ({YEARS_AHEAD} years ahead)."]
    return []
