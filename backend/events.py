"""One way to announce that something happened: typed events, `subscribe` and `publish`.

A write (a service, or the model save every path goes through) publishes an event once it has written; the apps that
react subscribe to it, so the writer imports none of them (a lower layer may not import a higher one). Each app
subscribes its receivers in one file, `apps/<app>/receivers.py` (`connect()`, called from its AppConfig.ready).

When a receiver runs, and what its failure does:

- After commit (the default): once the writer's transaction commits (at once when there is none), and never when
  it, or the savepoint the event was published in, rolls back. A failure is logged with the event (its type and
  ids) and the write stands: these receivers do what is redone later anyway (the materialise job renews reminders
  every 10 minutes, the staff-alert sweep pushes what was not pushed).
- In the transaction (`in_transaction=True`): at once, inside the writer's transaction, as part of the write. A
  failure is logged with the event and raised, so the write rolls back with it. Only events whose class says
  `receivers_in_transaction = True` accept such receivers, because the write and the effect must be one fact:
  - DoseRecorded: the injection alerts follow the state the dose leaves her in (DOMAIN D2/D5). The watch raises
    alerts but never resolves them on its own, so a dose kept without this would leave her alert open for good
    after she had her injection.
  - PlanChanged: a medication schedule stopped, paused or removed can leave a stopped injectable without its
    follow-on (DOMAIN D5 stopped); judged now, or she is unprotected with no alert and nothing due to check again.
  - ProfileChanged, ResultRecorded: a lab or a contraindication can give a verified schedule a finding its
    pharmacist did not see; it goes back to her now (nothing rechecks it later). A new time zone moves her local
    dates: the stored adherence the patient list shows must equal the API's live figure (DOMAIN P1), and the
    injection watch must check her again in her new zone.
  - SignedOut: the sign-out is not done until that installation's push devices are gone (the next person to use
    the phone would get her reminders); failing, the sign-out fails whole and the app can try it again.
  - PasswordChanged: a new password that left her old sessions alive would be worse than a refused change.
  - AiCourseStopped, AiCourseResumed: her coordinators' alert, and her AI schedules stopped, are part of the
    recorded stop (issue 15); nothing raises or resolves them later.
  - ReviewDecided: a pharmacist's request for changes is a worklist item for the patient's coordinators, and her
    verification resolves it; nothing raises or resolves it later, so the decision and the item are one fact.
  - CheckInRecorded: the joint-pain alert opens, escalates and resolves with her check-ins (DOMAIN J3), and nothing
    judges them again later (no sweep): a check-in kept without its alert would leave her pain unseen.
  Besides, on PostgreSQL a database error inside a transaction aborts it: keeping the write after a receiver's
  failure would need a savepoint around every receiver, on every write.
- AlertRaised and AlertEscalated have receivers after commit only (the staff push).

An event's fields are ids and plain values, never rows: a receiver after commit reads what is true then. Its repr,
which is what the log shows, carries ids and no health facts; other facts are `field(repr=False)`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from functools import partial
from typing import Any, ClassVar, Literal, TypeVar
from uuid import UUID

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Something that happened, named in the past tense."""

    receivers_in_transaction: ClassVar[bool] = False


E = TypeVar("E", bound=Event)
Receiver = Callable[[Any], None]
_receivers: dict[type[Event], list[tuple[Receiver, bool]]] = {}


def subscribe(event_type: type[E], receiver: Callable[[E], None], *, in_transaction: bool = False) -> None:
    """`receiver` is called with each `event_type` published from now on: after commit, or in the writer's
    transaction (see the module's docstring for when, and what its failure does). Subscribing twice is once."""
    if in_transaction and not event_type.receivers_in_transaction:
        raise TypeError(f"{event_type.__name__} takes receivers after commit only")
    entries = _receivers.setdefault(event_type, [])
    if (receiver, in_transaction) not in entries:
        entries.append((receiver, in_transaction))


def publish(event: Event) -> None:
    """Announce `event`: its receivers in the transaction run now, in the order they subscribed; the others once
    the transaction commits."""
    for receiver, in_transaction in _receivers.get(type(event), ()):
        if in_transaction:
            _deliver(receiver, event, in_transaction=True)
        else:
            transaction.on_commit(partial(_deliver, receiver, event, in_transaction=False))


def _deliver(receiver: Receiver, event: Event, *, in_transaction: bool) -> None:
    try:
        receiver(event)
    except Exception:
        name = f"{receiver.__module__}.{receiver.__qualname__}"
        outcome = "the write is rolled back" if in_transaction else "the write stands"
        log.exception(
            "event receiver %s failed on %r: %s",
            name,
            event,
            outcome,
            extra={"event_type": type(event).__name__, "event": _logged(event), "receiver": name},
        )
        if in_transaction:
            raise


def _logged(event: Event) -> dict[str, str]:
    return {f.name: str(getattr(event, f.name)) for f in fields(event) if f.repr}


# --- the events ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoseRecorded(Event):
    """A dose record was written: recorded or corrected (REST, sync push, admin). Published by
    apps.medications.services (dose_record, dose_correct) after the schedule's next due date moved."""

    receivers_in_transaction: ClassVar[bool] = True

    patient_id: UUID
    schedule_id: UUID
    dose_id: UUID
    status: str = field(repr=False)  # taken | skipped
    taken_on: date = field(repr=False)  # her local date of `taken_at`
    # The injection-watch bands its drug follows ("" for none): the dose of an oral drug, most of them, needs no read.
    injection_bands: str = field(repr=False)
    # The schedule's next due date once this dose was written (injectables; None for others): a sync push's doses are
    # written as a batch, and each is judged with the due date it left, as if pushed one by one.
    next_due_on: date | None = field(default=None, repr=False)


PlanKind = Literal["medication", "supplement", "exercise", "appointment"]


@dataclass(frozen=True)
class PlanChanged(Event):
    """One of a patient's plans was created, changed (moved, paused, resumed, stopped) or removed: a medication
    schedule, a supplement plan, an exercise plan or an appointment (booked, moved, cancelled). Published by the
    services of medications, supplements, exercise and appointments."""

    receivers_in_transaction: ClassVar[bool] = True

    patient_id: UUID
    plan_id: UUID
    plan_kind: PlanKind


@dataclass(frozen=True)
class AlertRaised(Event):
    """An alert was raised for the care team (apps.alerts.services.alert_raise)."""

    alert_id: UUID
    patient_id: UUID


@dataclass(frozen=True)
class AlertEscalated(Event):
    """An open alert's severity was raised (apps.alerts.services.alert_escalate): her coordinators are pushed again,
    as for a new alert."""

    alert_id: UUID
    patient_id: UUID


@dataclass(frozen=True)
class ProfileChanged(Event):
    """Fields of a patient's profile changed (apps.profiles.services.patient_profile_update): `changed` names them."""

    receivers_in_transaction: ClassVar[bool] = True

    patient_id: UUID
    changed: frozenset[str]


@dataclass(frozen=True)
class ResultRecorded(Event):
    """A lab or bone density (DXA) result was recorded for a patient (apps.profiles.services)."""

    receivers_in_transaction: ClassVar[bool] = True

    patient_id: UUID
    result_id: UUID
    result_kind: Literal["lab", "bone_density"]


@dataclass(frozen=True)
class SignedOut(Event):
    """A user signed out of the app on one installation (POST /auth/logout/ with a `device_id`)."""

    receivers_in_transaction: ClassVar[bool] = True

    user_id: UUID
    device_id: str = field(repr=False)  # the app installation's own id: it moves push tokens, never logged


@dataclass(frozen=True)
class PasswordChanged(Event):
    """A user's password was changed or removed and saved, by any path (admin, changepassword, API); Django's
    silent rehash at sign-in is no change (apps.accounts.models.User.save)."""

    receivers_in_transaction: ClassVar[bool] = True

    user_id: UUID


@dataclass(frozen=True)
class ReviewDecided(Event):
    """A pharmacist verified a schedule or requested changes to it (apps.medications.services.review_decide, also
    once per schedule of a bulk verification)."""

    receivers_in_transaction: ClassVar[bool] = True

    patient_id: UUID
    schedule_id: UUID
    decision_id: UUID
    reviewer_id: UUID
    decision: str  # verify | request_changes


@dataclass(frozen=True)
class CheckInRecorded(Event):
    """A weekly joint-pain check-in was recorded, or replaced the week's earlier one (apps.joint_pain.services;
    REST or sync push). The joint-pain alert and the patient's self-help notice follow it (DOMAIN J3)."""

    receivers_in_transaction: ClassVar[bool] = True

    patient_id: UUID
    check_in_id: UUID
    week_of: date = field(repr=False)


@dataclass(frozen=True)
class AiCourseStopped(Event):
    """She stopped her aromatase inhibitor and said why (apps.profiles.services). Her coordinator is alerted unless
    it was her doctor's decision (issue 15). In the transaction: the stop, its alert and her stopped AI schedules
    are one fact (nothing raises the alert later)."""

    receivers_in_transaction: ClassVar[bool] = True
    patient_id: UUID
    reason: str = field(repr=False)
    stopped_on: date = field(repr=False)


@dataclass(frozen=True)
class AiCourseResumed(Event):
    """She restarted her aromatase inhibitor after a recorded stop (apps.profiles.services): the stop's alert is
    resolved; her stopped schedule stays stopped (the care team enters the new one)."""

    receivers_in_transaction: ClassVar[bool] = True
    patient_id: UUID
    stopped_on: date = field(repr=False)  # the stop that ended


@dataclass(frozen=True)
class StockChanged(Event):
    """The refill need of a tracked medicine or supplement opened, moved or closed (apps.medications.stock: a dose
    taken or undone, a refill, a count). After commit: her refill reminders follow at once (the materialise job
    would catch them up within minutes)."""

    patient_id: UUID
    item_id: UUID
