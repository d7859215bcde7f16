"""The joint-pain alert (DOMAIN J3) and the patient's self-help notice (DOMAIN J4), judged again from her whole
check-in history each time a check-in is recorded (a check-in synced late is placed in its week).

- Her open episode has one alert (kind `joint_pain`, rule J3, episode = the ISO date of the week it opened):
  normal, or high when a check-in in it reported missing or stopping the AI because of pain. Repeats inside the
  episode raise nothing; an episode turning high escalates the same alert (a new high alert only if staff had
  already resolved it).
- When the episode ends (two check-ins in a row below threshold), its alert is resolved automatically, with a note.
- Only the open episode alerts: one that began and ended entirely in check-ins synced late raises nothing.
- A check-in in the open episode scoring worst pain 4 or more publishes her self-help notice, once per episode.

A sync push judges her once, after all its check-ins (`joint_pain_deferred`): a backlog that opens and closes an
episode raises nothing, as if one by one in week order.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db.models import Q

from apps.accounts.models import Patient
from apps.alerts.models import Alert, AlertState, Notice, Severity
from apps.alerts.services import alert_escalate, alert_raise, alerts_resolve_automatically, notice_publish
from apps.exercise.selectors import active_plan, plan_targets
from apps.joint_pain.rules import (
    AI_IMPACT_HIGH,
    RISE_FROM_BASELINE,
    RULE,
    WORST_PAIN_THRESHOLD,
    Episode,
    Judgement,
    Point,
    Reason,
    episode_key,
    judge,
)
from apps.joint_pain.selectors import check_in_facts
from backend.events import CheckInRecorded

KIND = "joint_pain"
NOTICE_KIND = "joint_pain_self_help"
HIGH_SUFFIX = ":high"  # a second alert of one episode, only when staff resolved the first and it then turned high
AI_WORDS = {"missed": "missed doses of", "stopped": "stopped"}

# The patient's notice (DOMAIN J4; the texts and their sources are in docs/clinical-rules.md, "Joint pain"). Plain
# words, no rule ids, nothing beyond the evidence: keep moving at her exercise targets, tell the care team.
NOTICE_TITLE = "Joint pain: what can help"
NOTICE_BODY = (
    "Thank you for telling us about your joint pain. Your care team can see your answers. "
    "Keeping active helps many women with joint pain from their hormone tablet: aim for your exercise targets, "
    "{minutes} minutes a week of weight-bearing activity such as brisk walking, and strength training {days} a week. "
    "Tell your care team how you are doing, especially if the pain keeps you from your usual activities. "
    "If you have missed or stopped your hormone tablet because of the pain, tell your care team before deciding "
    "anything."
)
TIMES = {1: "once", 2: "twice"}


def _week(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _why(point: Point, judgement: Judgement) -> str:
    """Staff text: the numbers behind the rule (DOMAIN J3)."""
    fact = point.fact
    text = f"worst joint pain {fact.worst_pain}/10 in the week of {_week(fact.week_of)}"
    if point.reason == Reason.RISE and judgement.baseline is not None:
        text += (
            f", {fact.worst_pain - judgement.baseline:g} points above her baseline of {judgement.baseline:g} "
            f"(rise of {RISE_FROM_BASELINE} or more)"
        )
    elif fact.worst_pain >= WORST_PAIN_THRESHOLD:
        text += f" (threshold {WORST_PAIN_THRESHOLD})"
    if fact.ai_impact in AI_IMPACT_HIGH:
        text += f"; she {AI_WORDS[fact.ai_impact]} her aromatase inhibitor because of joint pain"
    return text


def _message(episode: Episode, judgement: Judgement) -> str:
    latest = episode.points[-1]
    # The rule id travels in the alert's own `rule` field (the console links it beside the message).
    text = f"Joint-pain check-in: {_why(episode.opening, judgement)}."
    if latest is not episode.opening:
        text += f" Latest: {_why(latest, judgement)}."
    return text


def _escalation_note(episode: Episode, judgement: Judgement) -> str:
    point = next(p for p in reversed(episode.points) if p.fact.ai_impact in AI_IMPACT_HIGH)
    return f"Escalated to high ({RULE}): {_why(point, judgement)}."


def _day(episode_text: str) -> date | None:
    try:
        return date.fromisoformat(episode_text[:10])
    except ValueError:
        return None


def _in_episode(episode_text: str, episode: Episode) -> bool:
    """An alert or notice keyed by a week of this episode (a check-in synced late may have moved its start
    earlier: what it raised before is still this episode's)."""
    day = _day(episode_text)
    return day is not None and day >= episode.since


def _ended_note(alert_episode: str, judgement: Judgement) -> str:
    day = _day(alert_episode)
    for episode in judgement.episodes:
        if episode.ended_on is not None and day is not None and episode.since <= day <= episode.ended_on:
            last = episode.points[-2:]
            scores = " and ".join(f"{p.fact.worst_pain}/10 (week of {_week(p.fact.week_of)})" for p in last)
            return f"Resolved automatically ({RULE}): two check-ins in a row below threshold, worst pain {scores}."
    return f"Resolved automatically ({RULE}): no check-in of hers is above threshold any more (one was replaced)."


@dataclass(frozen=True)
class _Row:
    pk: UUID
    episode: str
    state: str
    severity: str
    by_staff: bool  # resolved by a person (not by the episode's end)

    @property
    def live(self) -> bool:
        return self.state != AlertState.RESOLVED


def _raise(patient: Patient, *, severity: str, message: str, episode: str) -> None:
    alert_raise(patient=patient, kind=KIND, severity=severity, message=message, rule=RULE, episode=episode)


def _in_range(row: _Row, episode: Episode) -> bool:
    day = _day(row.episode)
    return day is not None and episode.since <= day <= (episode.ended_on or day)


def judge_joint_pain(*, patient: Patient, judgement: Judgement) -> None:
    """Bring her joint-pain alert and notice in line with `judgement` (her whole history)."""
    current = judgement.current
    rows = [
        _Row(pk, text, state, severity, by_staff=resolver is not None)
        for pk, text, state, severity, resolver in Alert.objects.filter(patient=patient, kind=KIND).values_list(
            "pk", "episode", "state", "severity", "resolved_by_id"
        )
    ]
    for row in rows:
        if row.live and (current is None or not _in_episode(row.episode, current)):
            if row.severity == Severity.HIGH and row.state == AlertState.OPEN:
                continue  # DOMAIN J3: she missed or stopped the AI; nobody has seen it yet, so it stays on the list
            alerts_resolve_automatically(patient=patient, kinds=Q(pk=row.pk), note=_ended_note(row.episode, judgement))
    _ended_high_unalerted(patient, judgement, rows)
    if current is None:
        return
    mine = [row for row in rows if _in_episode(row.episode, current)]
    live = [row for row in mine if row.live]
    if live:
        row = live[0]
        if current.high and row.severity != Severity.HIGH:
            escalated = alert_escalate(
                alert=Alert.objects.get(pk=row.pk),
                severity=Severity.HIGH,
                note=_escalation_note(current, judgement),
                message=_message(current, judgement),
            )
            if not escalated:  # staff resolved it a moment ago: the high news is a new alert (once)
                _raise(
                    patient,
                    severity=Severity.HIGH,
                    message=_message(current, judgement),
                    episode=episode_key(current) + HIGH_SUFFIX,
                )
    elif not any(row.by_staff for row in mine):
        # None yet, or only ones the episode's end resolved before a later check-in (a replaced or late one) opened it
        # again: this stretch is news. Keyed by the week it opened again in, so it is raised once.
        reopened = "" if not mine else f"@{current.points[-1].fact.week_of.isoformat()}"
        _raise(
            patient,
            severity=current.severity,
            message=_message(current, judgement),
            episode=episode_key(current) + reopened,
        )
    elif current.high and all(row.severity != Severity.HIGH for row in mine):
        # Staff resolved this episode's normal alert, and since then she reports missing or stopping the AI: that
        # is news, so one high alert more (once: its key is the episode's with HIGH_SUFFIX).
        _raise(
            patient,
            severity=Severity.HIGH,
            message=_message(current, judgement),
            episode=episode_key(current) + HIGH_SUFFIX,
        )
    _self_help(patient=patient, episode=current)


def _ended_high_unalerted(patient: Patient, judgement: Judgement, rows: list[_Row]) -> None:
    """An episode that began and ended in check-ins synced together (or late) raises nothing, except when she said
    in it that pain made her miss or stop the AI (DOMAIN J3 high): that stays news once the pain has eased."""
    for episode in judgement.episodes:
        if episode.ended_on is None or not episode.high or any(_in_range(row, episode) for row in rows):
            continue  # open (judged below), not high, or it already has its alert
        ended = f" The episode has since ended (two check-ins below threshold, week of {_week(episode.ended_on)})."
        _raise(
            patient, severity=Severity.HIGH, message=_message(episode, judgement) + ended, episode=episode_key(episode)
        )


def _self_help(*, patient: Patient, episode: Episode) -> None:
    """DOMAIN J4: once per episode, after a worst-pain score of 4 or more."""
    if not episode.high_score:
        return
    published = Notice.objects.filter(patient=patient, kind=NOTICE_KIND).values_list("episode", flat=True)
    if any(_in_episode(text, episode) for text in published):
        return
    targets = plan_targets(active_plan(patient=patient))
    notice_publish(
        patient=patient,
        kind=NOTICE_KIND,
        title=NOTICE_TITLE,
        body=self_help_body(targets.weight_bearing_minutes, targets.resistance_days),
        episode=episode_key(episode),
    )


def self_help_body(minutes: int, days: int) -> str:
    return NOTICE_BODY.format(minutes=minutes, days=TIMES.get(days, f"{days} times"))


# Patients whose check-ins a batch (a sync push) recorded: judged once, when the batch ends.
_deferred: ContextVar[set[UUID] | None] = ContextVar("deferred_joint_pain", default=None)


@contextmanager
def joint_pain_deferred() -> Iterator[None]:
    """Check-ins recorded inside are judged once per patient at the end, with all of them in their weeks: a pushed
    backlog whose episode began and ended offline raises nothing. A batch that raises judges nothing (its
    transaction rolls back)."""
    if _deferred.get() is not None:  # already inside a batch: its end judges
        yield
        return
    pending: set[UUID] = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    for patient_id in sorted(pending):
        judge_patient(patient_id)


def judge_patient(patient_id: UUID) -> None:
    patient = Patient.objects.select_related("organisation").get(pk=patient_id)
    judge_joint_pain(patient=patient, judgement=judge(check_in_facts(patient_id=patient.pk)))


def joint_pain_on_check_in(event: CheckInRecorded) -> None:
    """In the check-in's transaction: her alert and notice follow her whole history (DOMAIN J3/J4); inside a batch,
    when it ends."""
    pending = _deferred.get()
    if pending is not None:
        pending.add(event.patient_id)
        return
    judge_patient(event.patient_id)
