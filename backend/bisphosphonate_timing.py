"""DOMAIN A2: how long after an oral bisphosphonate calcium, antacids and other oral medicines must wait.

One table for its two readers, neither of which owns it: the pharmacist checks on schedules
(`apps.medications.rules.checks`) and the supplements' daily warnings (`apps.supplements.rules`).
"""

from collections.abc import Mapping
from types import MappingProxyType

# Catalogue code of the oral bisphosphonate -> minutes.
AFTER_BISPHOSPHONATE_MINUTES: Mapping[str, int] = MappingProxyType(
    {
        "alendronate": 30,  # DOMAIN A2
        "risedronate": 30,  # DOMAIN A2
        "ibandronate": 60,  # DOMAIN A2
    }
)
