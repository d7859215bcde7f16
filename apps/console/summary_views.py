"""The printable patient summary (issue 14, point 10): one A4 page for the clinic visit (therapy, injections,
adherence, T-scores, open alerts), without navigation or buttons. Scoped and audited like the patient page: another
organisation's patient is a 404, and each view is an audit-logged read."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from apps.accounts.models import User
from apps.accounts.selectors import access_patient_by_user
from apps.console import selectors
from apps.console.views import ALL_STAFF, console_page, page
from apps.medications.models import ScheduleStatus
from apps.medications.rules.injection import BANDS_BY_DRUG
from apps.profiles.models import BoneDensityResult, DxaSite
from backend.audit import audit_record

MAX_ALERTS = 6  # more than this does not fit the page: the rest are counted and left to the console
MAX_SCHEDULES = 8


@dataclass(frozen=True)
class SiteTrend:
    """One DXA site: the latest T-score, the scan before it and the change between them."""

    site: str
    latest: BoneDensityResult
    previous: BoneDensityResult | None
    scans: int

    @property
    def change(self) -> Decimal | None:
        return None if self.previous is None else self.latest.t_score - self.previous.t_score


def site_trends(results: list[BoneDensityResult]) -> list[SiteTrend]:
    labels = dict(DxaSite.choices)
    by_site: dict[str, list[BoneDensityResult]] = {}
    for result in results:
        by_site.setdefault(result.site, []).append(result)
    trends = []
    for site, rows in by_site.items():
        rows.sort(key=lambda r: r.measured_on)
        trends.append(SiteTrend(labels.get(site, site), rows[-1], rows[-2] if len(rows) > 1 else None, len(rows)))
    return sorted(trends, key=lambda t: t.latest.t_score)  # the lowest (worst) site first


@require_GET
@console_page(*ALL_STAFF)
def patient_summary(request: HttpRequest, patient_pk: UUID) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # console_page let only signed-in staff through
    patient = access_patient_by_user(user, patient_pk)
    overview = selectors.patient_overview(patient=patient, user=user)
    audit_record(
        actor=user,
        action="read",
        resource="console_patient_summary",
        patient_ids=[patient.pk],
        object_id=patient.pk,
        request=request,
    )
    active = [row for row in overview.schedules if row.schedule.status == ScheduleStatus.ACTIVE]
    context = {
        "o": overview,
        "profile": patient.profile,
        "schedules": active[:MAX_SCHEDULES],
        "schedules_more": max(0, len(active) - MAX_SCHEDULES),
        "adherence": overview.adherence[:MAX_SCHEDULES],
        "alerts": overview.alerts[:MAX_ALERTS],
        "alerts_more": max(0, len(overview.alerts) - MAX_ALERTS),
        "trends": site_trends(overview.dxa),
        # Each injection's state names the rulebook entry of its drug's bands (D5 denosumab, Z1 zoledronic acid).
        "injections": [(t, BANDS_BY_DRUG[t.schedule.medication.injection_bands].rule) for t in overview.injections],
        "windows": selectors.ADHERENCE_WINDOWS,
        "prepared_by": user,
        "nav": "patients",
    }
    return page(request, "patient_summary.html", context)
