"""The pharmacists' review queue page (issue 14, point 9): each schedule with what she needs to judge it (latest labs
with dates, her other active schedules and supplement plans, the previous decisions), a filter by severity, and
verifying several schedules that have no finding at once (all or none, each decision audited)."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.console.forms import ReviewForm
from apps.console.views import PHARMACISTS, _audit_list, _page_of, _user, console_page, page
from apps.medications import services as medication_services
from apps.medications.models import Schedule
from apps.medications.review_context import SEVERITIES, review_contexts, top_severity
from apps.medications.selectors import review_findings, review_queue
from backend.access import NotInScope, scope_patient_data
from backend.audit import audit_record

SEVERITY_LABELS = {"high": "High", "moderate": "Moderate", "low": "Low", "none": "No finding"}


def _wanted_severities(request: HttpRequest) -> list[str]:
    return [s for s in request.GET.getlist("severity") if s in SEVERITIES]


def reviews_response(
    request: HttpRequest, bound: dict[UUID, ReviewForm] | None = None, *, status: int = 200
) -> HttpResponse:
    """The queue page; `bound` holds a refused decision's form, shown again with its errors."""
    wanted = _wanted_severities(request)
    rows_in: Any = review_queue(user=_user(request))
    if wanted:  # the severity is computed, not stored: judge the whole queue, then page what matches
        everything = list(rows_in)
        found_all = review_findings(everything)
        rows_in = [s for s in everything if top_severity(found_all[s.pk]) in wanted]
    schedules = _page_of(request, rows_in)
    findings = review_findings(schedules)
    contexts = review_contexts(schedules)
    rows = []
    for schedule in schedules:
        found = findings[schedule.pk]
        high = sum(1 for f in found if f["severity"] == "high")
        rows.append(
            {
                "schedule": schedule,
                "findings": found,
                "high": high,
                "context": contexts[schedule.pk],
                "form": (bound or {}).get(schedule.pk) or ReviewForm(prefix=str(schedule.pk), high_findings=high),
            }
        )
    _audit_list(request, "console_reviews", [s.patient_id for s in schedules])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "rows": rows,
        "page_obj": schedules,
        "nav": "reviews",
        "query": query.urlencode(),
        "severities": [(s, SEVERITY_LABELS[s], s in wanted) for s in SEVERITIES],
        "bulk_candidates": sum(1 for row in rows if not row["findings"]),
    }
    return page(request, "reviews.html", context, status=status)


@require_POST
@console_page(*PHARMACISTS)
def review_verify_many(request: HttpRequest) -> HttpResponse:
    """Verify the ticked schedules (none may have a finding): one decision each, audited, in one transaction."""
    user = _user(request)
    wanted: list[UUID] = []
    for raw in request.POST.getlist("schedules"):
        try:
            wanted.append(UUID(raw))
        except ValueError:
            raise NotInScope(resource="schedule", requested_id=raw) from None
    wanted = list(dict.fromkeys(wanted))
    rows = scope_patient_data(
        Schedule.objects.select_related("medication", "patient__profile", "patient__user"), user
    ).in_bulk(wanted)
    missing = [pk for pk in wanted if pk not in rows]
    if missing:
        raise NotInScope(resource="schedule", requested_id=missing[0])
    schedules = [rows[pk] for pk in wanted]
    try:
        with transaction.atomic():
            medication_services.review_verify_many(
                reviewer=user,
                schedules=schedules,
                findings=review_findings(schedules),
                note=request.POST.get("note", "").strip()[:4000],
            )
            for schedule in schedules:
                audit_record(
                    actor=user,
                    action="update",
                    resource="review",
                    patient_ids=[schedule.patient_id],
                    object_id=schedule.pk,
                    request=request,
                )
    except ValidationError as exc:
        messages.error(request, f"Nothing was verified: {' '.join(exc.messages)}")
        return reviews_response(request, status=400)
    count = len(schedules)
    messages.success(request, f"{count} schedule{'s' if count != 1 else ''} verified.")
    return redirect("console:reviews")
