"""The weekly joint-pain check-in as reminder sources (backend.reminder_sources, DOMAIN J3):

- `joint_pain_check_in`: once a week, on her chosen weekday at her chosen wall-clock time in her zone (18:00 stays
  18:00 across DST), while she is on an aromatase inhibitor (one recorded, not stopped). Never for a week she has
  answered already: such a week has no slot (a pending one is withdrawn at the next materialise run) and, for a
  check-in that arrives after the slot was materialised, the dispatcher asks `done` before pushing.
- `joint_pain_nudge`: a gentle push to her, never a coordinator alert, when she has not checked in for
  NUDGE_AFTER_DAYS days since her last answer: one push at her check-in time on that day, once per silent stretch
  (the slot hangs on her last answer, so a new answer moves it and a stretch that goes on does not repeat it).

Both use her profile (its primary key is the patient's id) as the "plan": a slot's source id is her patient id, and
`live` re-checks at dispatch that she is still on the AI."""

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Max, QuerySet

from apps.joint_pain.models import JointPainCheckIn
from apps.profiles.models import PatientProfile
from apps.profiles.rules import ai_planned_end
from backend import clock
from backend.lookups import among
from backend.recurrence import to_instant
from backend.reminder_sources import DueReminder, ReminderSlot, ReminderSource

CHECK_IN_KIND = "joint_pain_check_in"
NUDGE_KIND = "joint_pain_nudge"
# DOMAIN J3 design: "no check-in for 3 weeks is a gentle patient nudge" (issue 15), counted in her local days from
# the date of her last answer. A patient who never answered gets no nudge: the weekly reminder is what asks her, and
# there is no lapse yet (nor a date the habit started: her AI may have started years before the check-in existed).
NUDGE_AFTER_DAYS = 21
_NUDGE_DELAY = timedelta(days=NUDGE_AFTER_DAYS)
# Design: the question is about the last 24 hours (DOMAIN J2, the BPI worst-pain item), so a reminder held back half
# a day (quiet hours until the morning, a worker outage) still asks the right question; later it would arrive as
# another day's question, or on top of the next one. The same for the nudge.
STALE_AFTER_MINUTES = 12 * 60

CHECK_IN_TEXT = "How have your joints been this week? Your weekly check-in is ready."
NUDGE_TEXT = "It has been a few weeks since your last check-in. How are your joints? It only takes a minute."
# A local date can lie a day either side of the window's UTC dates (offsets reach +14 h and -12 h), and a spring
# gap can push a time past midnight: two days either side covers both.
_MARGIN = timedelta(days=2)


def monday_of(day: date) -> date:
    """The Monday of the ISO week `day` falls in: a check-in's `week_of`."""
    return day - timedelta(days=day.weekday())


def nudge_day(last_answered_on: date) -> date:
    """The local date of the nudge after a last answer on `last_answered_on` (DOMAIN J3 design)."""
    return last_answered_on + timedelta(days=NUDGE_AFTER_DAYS)


def _drug(profile: PatientProfile) -> str:
    return profile.aromatase_inhibitor.lower()


def check_in_detailed_text(profile: PatientProfile) -> str:
    """With her opt-in only (DESIGN privacy): the push names her aromatase inhibitor."""
    return f"How have your joints been this week on {_drug(profile)}? Your weekly joint-pain check-in is ready."


def nudge_detailed_text(profile: PatientProfile) -> str:
    return (
        f"It has been a few weeks since your last joint-pain check-in on {_drug(profile)}. How are your joints? "
        "It only takes a minute."
    )


def on_aromatase_inhibitor() -> QuerySet[PatientProfile]:
    """The profiles whose check-in reminders are in force: an aromatase inhibitor recorded and not stopped."""
    return PatientProfile.objects.exclude(aromatase_inhibitor="").filter(ai_stopped_on__isnull=True)


def _profiles(patient_ids: Iterable[UUID] | None) -> QuerySet[PatientProfile]:
    rows = on_aromatase_inhibitor().only(
        *("patient_id", "timezone", "aromatase_inhibitor", "ai_started_on", "ai_stopped_on"),
        *("ai_planned_years", "ai_planned_end_on", "check_in_weekday", "check_in_time"),
    )
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    return rows.order_by("patient_id")


def _course_end(profile: PatientProfile) -> date | None:
    """The day after her planned AI course (DOMAIN T1): from then on she is not asked about AI joint pain."""
    return ai_planned_end(
        started_on=profile.ai_started_on,
        planned_years=profile.ai_planned_years,
        planned_end_on=profile.ai_planned_end_on,
    )


def _last_answered(patient_ids: Iterable[UUID] | None) -> dict[UUID, datetime]:
    """Each patient's latest check-in, answered when (one grouped query)."""
    rows = JointPainCheckIn.objects.all()
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=list(patient_ids))
    return dict(rows.values("patient_id").annotate(last=Max("answered_at")).values_list("patient_id", "last"))


def _local_time(due_at: datetime, zone: ZoneInfo) -> time:
    return due_at.astimezone(zone).time().replace(tzinfo=None, fold=0)


class _ProfileSource(ReminderSource):
    stale_after_minutes = STALE_AFTER_MINUTES

    def active(self) -> QuerySet[PatientProfile]:
        return on_aromatase_inhibitor()

    def live(self, source_ids: Collection[UUID]) -> set[UUID]:
        return set(self.active().filter(among("pk", source_ids)).values_list("pk", flat=True))

    def _slot(self, profile: PatientProfile, day: date, due_at: datetime, **texts: Any) -> ReminderSlot:
        zone = clock.zone(profile.timezone)
        return ReminderSlot(
            source_kind=self.kind,
            source_id=profile.patient_id,
            patient_id=profile.patient_id,
            local_date=day,
            local_time=_local_time(due_at, zone),
            due_at=due_at,
            **texts,
        )


class CheckInReminderSource(_ProfileSource):
    """Her weekly check-in: on her weekday at her time, for a week she has not answered."""

    kind = CHECK_IN_KIND

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        ids = list(patient_ids) if patient_ids is not None else None
        first_week = monday_of((window_start - _MARGIN).date())
        weeks = JointPainCheckIn.objects.filter(week_of__gte=first_week, week_of__lte=(window_end + _MARGIN).date())
        if ids is not None:
            weeks = weeks.filter(patient_id__in=ids)
        answered = set(weeks.values_list("patient_id", "week_of"))
        last = _last_answered(ids)
        for profile in _profiles(ids).iterator(chunk_size=500):
            zone = clock.zone(profile.timezone)
            last_at = last.get(profile.patient_id)
            nudge_on = nudge_day(last_at.astimezone(zone).date()) if last_at is not None else None
            course_end = _course_end(profile)
            day = (window_start - _MARGIN).astimezone(zone).date()
            end = (window_end + _MARGIN).astimezone(zone).date()
            while day <= end:
                if (
                    day.weekday() == profile.check_in_weekday
                    and (profile.ai_started_on is None or day >= profile.ai_started_on)
                    and (course_end is None or day < course_end)
                    and (profile.patient_id, monday_of(day)) not in answered
                    and day != nudge_on  # that day the nudge asks instead: one push, not two
                ):
                    due_at = to_instant(day, profile.check_in_time, zone)
                    if window_start <= due_at < window_end:
                        yield self._slot(
                            profile,
                            day,
                            due_at,
                            text_generic=CHECK_IN_TEXT,
                            text_detailed=check_in_detailed_text(profile),
                        )
                day += timedelta(days=1)

    def done(self, reminders: Sequence[DueReminder]) -> set[Any]:
        """Done when she has answered the check-in of the reminder's week (her local ISO week), however late the
        answer reached the server: no reminder is pushed after she checked in."""
        if not reminders:
            return set()
        weeks = {monday_of(r.local_date) for r in reminders}
        answered = set(
            JointPainCheckIn.objects.filter(
                among("patient_id", {r.patient_id for r in reminders}), week_of__in=weeks
            ).values_list("patient_id", "week_of")
        )
        return {r.pk for r in reminders if (r.patient_id, monday_of(r.local_date)) in answered}


class CheckInNudgeSource(_ProfileSource):
    """The gentle nudge after NUDGE_AFTER_DAYS silent days (DOMAIN J3 design): at her check-in time that day."""

    kind = NUDGE_KIND

    def slots(
        self, *, window_start: datetime, window_end: datetime, patient_ids: Iterable[UUID] | None = None
    ) -> Iterator[ReminderSlot]:
        ids = list(patient_ids) if patient_ids is not None else None
        last = _last_answered(ids)
        if not last:
            return
        for profile in _profiles(ids).iterator(chunk_size=500):
            last_at = last.get(profile.patient_id)
            if last_at is None:  # never answered: no lapse to nudge about
                continue
            zone = clock.zone(profile.timezone)
            answered_on = last_at.astimezone(zone).date()
            day = nudge_day(answered_on)
            course_end = _course_end(profile)
            if course_end is not None and day >= course_end:
                continue  # her course is over: no nudge about it
            due_at = to_instant(day, profile.check_in_time, zone)
            if window_start <= due_at < window_end:
                yield self._slot(
                    profile,
                    day,
                    due_at,
                    dose_date=answered_on,  # the answer the silence is counted from
                    text_generic=NUDGE_TEXT,
                    text_detailed=nudge_detailed_text(profile),
                )

    def done(self, reminders: Sequence[DueReminder]) -> set[Any]:
        """Done when she answered after the answer the nudge counted from (its dose_date): the silence is over."""
        if not reminders:
            return set()
        rows = (
            JointPainCheckIn.objects.filter(among("patient_id", {r.patient_id for r in reminders}))
            .values("patient_id", "patient__profile__timezone")
            .annotate(last=Max("answered_at"))
            .values_list("patient_id", "patient__profile__timezone", "last")
        )
        last_on = {patient: last.astimezone(clock.zone(zone)).date() for patient, zone, last in rows}
        return {
            r.pk
            for r in reminders
            if r.patient_id in last_on and last_on[r.patient_id] > (r.dose_date or r.local_date - _NUDGE_DELAY)
        }
