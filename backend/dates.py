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
