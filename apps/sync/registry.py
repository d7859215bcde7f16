"""The synced tables (API.md "Sync"): which model each is, its columns and how they travel, and what the app may
write. Writes go through the same services as the REST API, so a dose pushed days late does everything a REST post
does (resolves the injection alert, cancels pending reminders, moves the next due date).

Every column listed here must be watched by its table's sync trigger (the apps' `*_sync_versions` migrations);
tests/sync/test_versions.py checks it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model

from apps.accounts.models import Patient, User
from apps.alerts.models import Notice
from apps.appointments.models import Appointment
from apps.exercise import services as exercise_services
from apps.exercise.models import ExercisePlan, ExerciseSession
from apps.joint_pain import services as joint_pain_services
from apps.joint_pain.models import JointPainCheckIn
from apps.medications import selectors as medication_selectors
from apps.medications import services as medication_services
from apps.medications import stock as medication_stock
from apps.medications.models import DoseRecord, Schedule, StockItemKind, StockRefill
from apps.profiles.models import BoneDensityResult, PatientProfile
from apps.profiles.services import REMINDER_SETTINGS
from apps.reminders.models import ON_DEVICE_REASON, OccurrenceState, ReminderOccurrence
from apps.reminders.preferences import reminder_settings_update
from apps.supplements import selectors as supplement_selectors
from apps.supplements import services as supplement_services
from apps.supplements.models import SupplementIntake, SupplementPlan
from apps.sync import codecs
from apps.sync.codecs import Codec

Values = dict[str, Any]
Creator = Callable[..., bool]  # True when it inserted the row (False: the same id was already recorded)
# Many new rows at once: (inserted ids, refused ids with why); ids in neither go through `create` one by one.
BulkCreator = Callable[..., tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]]
Updater = Callable[..., None]
SERVER_TIMESTAMPS = frozenset({"created_at", "updated_at"})


@dataclass(frozen=True)
class Column:
    name: str
    codec: Codec
    source: str | tuple[str, ...] = ""  # ORM path(s) read for it; the column name by default
    watch: str = ""  # SQL over `{row}` whose change moves the version, when not simply the source columns

    @property
    def sources(self) -> tuple[str, ...]:
        if isinstance(self.source, tuple):
            return self.source
        return (self.source or self.name,)


@dataclass(frozen=True)
class Table:
    name: str
    model: type[Model]
    columns: tuple[Column, ...]
    pk: str = "id"
    # Computed by the server (local dates, timestamps): the app's copy is ignored on push.
    derived: frozenset[str] = SERVER_TIMESTAMPS
    creatable: frozenset[str] = frozenset()  # what the app sets when it creates a row
    # Columns where an empty value ("" or null) from the app means "the default" (a dose's status and source) or
    # "the plan's" (an intake's supplement, amount, unit): not stated, so never a difference from the stored value.
    unstated_when_empty: frozenset[str] = frozenset()
    updatable: frozenset[str] = frozenset()  # what the app may change later
    create: Creator | None = None
    create_many: BulkCreator | None = None  # the same rules as `create`, for a push's many new rows
    update: Updater | None = None
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    @property
    def db_table(self) -> str:
        return str(self.model._meta.db_table)

    @property
    def pk_column(self) -> str:
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        return str((fields.get(self.pk) or fields[self.pk.removesuffix("_id")]).column)

    def watched(self) -> list[str]:
        """What the table's trigger compares: each synced column, or its `watch` expression. Columns read through a
        join (the catalogue's names) are another table's writes and are not watched."""
        fields = {f.name: f for f in self.model._meta.concrete_fields}
        items: list[str] = []
        for column in self.columns:
            if column.watch:
                items.append(column.watch)
                continue
            for source in column.sources:
                if "__" not in source:
                    items.append(str((fields.get(source) or fields[source.removesuffix("_id")]).column))
        return items

    def serialise(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """One row from `values_list(pk, *sources)` as the app sees it."""
        record: dict[str, Any] = {"id": str(values[0])}
        index = 1
        for column in self.columns:
            width = len(column.sources)
            raw = values[index] if width == 1 else values[index : index + width]
            index += width
            record[column.name] = column.codec.to_client(raw)
        return record

    @property
    def sources(self) -> list[str]:
        return [self.pk, *(s for c in self.columns for s in c.sources)]


def device_state(pair: tuple[str, str]) -> str:
    """A reminder's state as the app sees it: "pending" while the app should fire it itself (being sent counts, and
    so does a reminder the dispatcher left to the device); otherwise what happened to it."""
    state, reason = pair
    if state in (OccurrenceState.PENDING, OccurrenceState.CLAIMED):
        return OccurrenceState.PENDING
    if state == OccurrenceState.SKIPPED and reason == ON_DEVICE_REASON:
        return OccurrenceState.PENDING
    return state


DEVICE_STATE = Codec("string", device_state, codecs.TEXT.parse)
# device_state in SQL, for the trigger (apps/reminders/migrations/0004_sync_versions.py has the same expression).
DEVICE_STATE_SQL = (
    "CASE WHEN {row}.state IN ('pending', 'claimed') OR ({row}.state = 'skipped' AND {row}.reason = 'on device') "
    "THEN 'pending' ELSE {row}.state END"
)
T, TN = codecs.TEXT, codecs.TEXT.or_null()
INT, INT_N = codecs.INTEGER, codecs.INTEGER.or_null()
DEC, DEC_N = codecs.DECIMAL, codecs.DECIMAL.or_null()
B, MS, MS_N = codecs.BOOLEAN, codecs.INSTANT, codecs.INSTANT.or_null()
D, D_N, TM, TM_N = codecs.DATE, codecs.DATE.or_null(), codecs.TIME, codecs.TIME.or_null()
ID_N, JSON = codecs.UUID.or_null(), codecs.JSON_LIST
ID = codecs.UUID


def _cols(*spec: tuple[Any, ...]) -> tuple[Column, ...]:
    return tuple(Column(*item) for item in spec)


# --- writers: the REST API's services -----------------------------------------------------------------------------
def _required(values: Values, *names: str) -> None:
    missing = [name for name in names if values.get(name) is None]
    if missing:
        raise ValidationError({name: ["This column is required."] for name in missing})


def _dose_create(*, actor: User, patient: Patient, record_id: uuid.UUID, values: Values) -> bool:
    _required(values, "schedule_id", "taken_at")
    schedule = medication_selectors.schedule_list(patient=patient).filter(pk=values["schedule_id"]).first()
    if schedule is None:
        raise ValidationError({"schedule_id": ["No such schedule for this patient."]})
    options = _dose_options(values)
    return medication_services.dose_record(
        actor=actor,
        patient=patient,
        schedule=schedule,
        id=record_id,
        taken_at=values["taken_at"],
        stated={"schedule", "taken_at", *options},
        **options,
    ).created


def _dose_options(values: Values) -> dict[str, Any]:
    # An empty status or source means the default (taken, app), as on the REST API.
    return {
        k: values[k]
        for k in ("status", "source", "site", "note", "occurrence_on")
        if values.get(k) is not None and not (k in ("status", "source") and values[k] == "")
    }


def _doses_create(
    *, actor: User, patient: Patient, records: list[tuple[uuid.UUID, Values]]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """The push's new doses, checked as _dose_create checks each, in a few statements (doses_record_new); those it
    leaves go one by one."""
    schedule_ids = {values["schedule_id"] for _, values in records if values.get("schedule_id") is not None}
    schedules = {s.pk: s for s in medication_selectors.schedule_list(patient=patient).filter(pk__in=schedule_ids)}
    doses: list[medication_services.NewDose] = []
    refused: dict[uuid.UUID, ValidationError] = {}
    for record_id, values in records:
        try:
            _required(values, "schedule_id", "taken_at")
        except ValidationError as exc:
            refused[record_id] = exc
            continue
        schedule = schedules.get(values["schedule_id"])
        if schedule is None:
            refused[record_id] = ValidationError({"schedule_id": ["No such schedule for this patient."]})
            continue
        doses.append(medication_services.NewDose(record_id, schedule, values["taken_at"], **_dose_options(values)))
    inserted, invalid = medication_services.doses_record_new(actor=actor, patient=patient, doses=doses)
    return inserted, refused | invalid


def _dose_update(*, actor: User, patient: Patient, row: Any, changes: Values) -> None:
    medication_services.dose_correct(actor=actor, dose=row, **changes)


def _intake_create(*, actor: User, patient: Patient, record_id: uuid.UUID, values: Values) -> bool:
    _required(values, "taken_at")
    plan = None
    if values.get("plan_id") is not None:
        plan = supplement_selectors.plan_list(patient=patient).filter(pk=values["plan_id"]).first()
        if plan is None:
            raise ValidationError({"plan_id": ["No such supplement plan for this patient."]})
    return supplement_services.supplement_intake_record(
        actor=actor,
        patient=patient,
        id=record_id,
        taken_at=values["taken_at"],
        supplement=values.get("supplement") or None,
        amount=values.get("amount"),
        unit=values.get("unit") or None,
        plan=plan,
        note=values.get("note") or "",
        # An empty supplement, amount or unit means the plan's: what the app stated is the rest.
        stated={"taken_at", *(k.removesuffix("_id") for k in _INTAKE_STATED if values.get(k) not in (None, ""))},
    ).created


_INTAKE_STATED = ("plan_id", "supplement", "amount", "unit", "note")


def _intakes_create(
    *, actor: User, patient: Patient, records: list[tuple[uuid.UUID, Values]]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """The push's new intakes in one insert (supplement_intakes_record_new); those it leaves go one by one."""
    plan_ids = {values["plan_id"] for _, values in records if values.get("plan_id") is not None}
    plans = {plan.pk: plan for plan in supplement_selectors.plan_list(patient=patient).filter(pk__in=plan_ids)}
    intakes: list[supplement_services.NewIntake] = []
    refused: dict[uuid.UUID, ValidationError] = {}
    for record_id, values in records:
        plan = None
        if values.get("plan_id") is not None:
            plan = plans.get(values["plan_id"])
            if plan is None:
                refused[record_id] = ValidationError({"plan_id": ["No such supplement plan for this patient."]})
                continue
        if values.get("taken_at") is None:
            refused[record_id] = ValidationError({"taken_at": ["This column is required."]})
            continue
        intakes.append(
            supplement_services.NewIntake(
                record_id,
                values["taken_at"],
                supplement=values.get("supplement") or None,
                amount=values.get("amount"),
                unit=values.get("unit") or None,
                plan=plan,
                note=values.get("note") or "",
            )
        )
    inserted, invalid = supplement_services.supplement_intakes_record_new(actor=actor, patient=patient, intakes=intakes)
    return inserted, refused | invalid


def _session_create(*, actor: User, patient: Patient, record_id: uuid.UUID, values: Values) -> bool:
    _required(values, "kind", "minutes", "performed_at")
    return exercise_services.exercise_session_record(
        actor=actor,
        patient=patient,
        id=record_id,
        kind=values["kind"],
        minutes=values["minutes"],
        performed_at=values["performed_at"],
        note=values.get("note") or "",
    ).created


def _sessions_create(
    *, actor: User, patient: Patient, records: list[tuple[uuid.UUID, Values]]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """The push's new sessions in one insert (exercise_sessions_record_new); those it leaves go one by one."""
    sessions: list[exercise_services.NewSession] = []
    refused: dict[uuid.UUID, ValidationError] = {}
    for record_id, values in records:
        try:
            _required(values, "kind", "minutes", "performed_at")
        except ValidationError as exc:
            refused[record_id] = exc
            continue
        sessions.append(
            exercise_services.NewSession(
                record_id, values["kind"], values["minutes"], values["performed_at"], values.get("note") or ""
            )
        )
    inserted, invalid = exercise_services.exercise_sessions_record_new(actor=actor, patient=patient, sessions=sessions)
    return inserted, refused | invalid


CHECK_IN_COLUMNS = ("answered_at", "worst_pain", "stiffness", "interfered", "ai_impact")


def _check_in_create(*, actor: User, patient: Patient, record_id: uuid.UUID, values: Values) -> bool:
    """Her weekly check-in, as the REST POST records it: a second one of the same week replaces the first (whose
    delete reaches her app on the next pull). There is no batch path: at most one a week, a backlog is short."""
    _required(values, "answered_at", "worst_pain", "stiffness", "interfered")
    return joint_pain_services.check_in_record(
        actor=actor,
        patient=patient,
        id=record_id,
        answered_at=values["answered_at"],
        worst_pain=values["worst_pain"],
        stiffness=values["stiffness"],
        interfered=values["interfered"],
        ai_impact=values.get("ai_impact") or "none",
        stated={name for name in CHECK_IN_COLUMNS if values.get(name) not in (None, "")},
    ).created


REFILL_COLUMNS = ("item_kind", "item_id", "packs", "units", "refilled_at")


def _refill_create(*, actor: User, patient: Patient, record_id: uuid.UUID, values: Values) -> bool:
    """A refill she recorded offline (issue 17), as the REST refill records it: its units added to the item's stock
    once, whatever the number of pushes."""
    _required(values, "item_kind", "item_id")
    rows: Any = {
        StockItemKind.SCHEDULE: medication_selectors.schedule_list(patient=patient),
        StockItemKind.SUPPLEMENT_PLAN: supplement_selectors.plan_list(patient=patient),
    }.get(values["item_kind"])
    item = rows.filter(pk=values["item_id"]).first() if rows is not None else None
    if item is None:
        raise ValidationError({"item_id": ["No such schedule or supplement plan for this patient."]})
    return medication_stock.stock_refill(
        actor=actor,
        item=item,
        id=record_id,
        packs=values.get("packs"),
        units=values.get("units"),
        refilled_at=values.get("refilled_at"),
        stated={name for name in REFILL_COLUMNS if values.get(name) is not None},
    ).created


def _profile_update(*, actor: User, patient: Patient, row: Any, changes: Values) -> None:
    reminder_settings_update(actor=actor, patient=patient, **changes)


# Issue 17: a schedule's or a supplement plan's stock, read-only to the app. The server owns the count: doses pushed
# take their units off on the server, so two phones offline never lose each other's doses; refills and counts go
# through the REST API.
STOCK_COLUMNS: tuple[tuple[Any, ...], ...] = (
    ("stock_on_hand", INT_N),
    ("pack_size", INT_N),
    ("units_per_dose", INT),
    ("refill_warning_days", INT),
    ("supply_last_on", D_N),
    ("refill_due_on", D_N),
)


# --- the tables ---------------------------------------------------------------------------------------------------
TABLES: tuple[Table, ...] = (
    Table(
        "profiles",
        PatientProfile,
        _cols(
            ("birth_date", D),
            ("timezone", T),
            ("aromatase_inhibitor", T),
            ("ai_started_on", D_N),
            # Her AI course (issue 15), read-only to the app: the planned length and a recorded stop (the app stops
            # asking the weekly check-in once she stopped; a stop is reported through the REST API).
            ("ai_planned_years", INT_N),
            ("ai_planned_end_on", D_N),
            ("ai_stopped_on", D_N),
            ("ai_stop_reason", T),
            ("height_cm", DEC_N),
            ("weight_kg", DEC_N),
            ("smoker", T),
            ("family_hip_fracture", B),
            ("prior_fragility_fracture", B),
            ("oral_corticosteroids_months", INT),
            ("prior_skeletal_radiation", B),
            ("bone_metastases", B),
            ("cannot_stay_upright", B),
            ("esophageal_disorder", B),
            ("quiet_hours_start", TM_N),
            ("quiet_hours_end", TM_N),
            ("push_detail_opt_in", B),
            ("check_in_weekday", INT),
            ("check_in_time", TM),
            ("updated_at", MS),
        ),
        pk="patient_id",
        updatable=REMINDER_SETTINGS,  # her reminder settings; the rest of her profile is read-only to the app
        update=_profile_update,
    ),
    Table(
        "schedules",
        Schedule,
        _cols(
            ("medication_id", ID),
            ("medication_code", T, "medication__code"),
            ("medication_name", T, "medication__name"),
            ("dose", T),
            ("unit", T),
            ("interval", INT),
            ("weekday", INT_N),
            ("month_day", INT_N),
            ("local_time", TM),
            ("starts_on", D),
            ("ends_on", D_N),
            ("status", T),
            ("review_status", T),
            ("next_due_on", D_N),
            ("injection_state", T),
            *STOCK_COLUMNS,
            ("created_at", MS),
            ("updated_at", MS),
        ),
    ),
    Table(
        "dose_records",
        DoseRecord,
        _cols(
            ("schedule_id", ID),
            ("occurrence_on", D_N),
            ("taken_at", MS),
            ("taken_on", D),
            ("status", T),
            ("source", T),
            ("site", T),
            ("note", T),
            ("created_at", MS),
            ("updated_at", MS),
        ),
        derived=SERVER_TIMESTAMPS | {"taken_on"},
        creatable=frozenset({"schedule_id", "occurrence_on", "taken_at", "status", "source", "site", "note"}),
        updatable=frozenset({"occurrence_on", "taken_at", "status", "site", "note"}),
        unstated_when_empty=frozenset({"status", "source"}),
        create=_dose_create,
        create_many=_doses_create,
        update=_dose_update,
    ),
    Table(
        "reminders",
        ReminderOccurrence,
        _cols(
            ("source_kind", T),
            ("schedule_id", ID, "source_id"),
            ("kind", T),
            ("local_date", D),
            ("local_time", TM),
            ("due_at", MS),
            ("dose_date", D_N),
            ("expires_at", MS),
            ("text_generic", T),
            ("text_detailed", T),
            ("state", DEVICE_STATE, ("state", "reason"), DEVICE_STATE_SQL),
        ),
    ),
    Table(
        "supplement_plans",
        SupplementPlan,
        _cols(
            ("supplement", T),
            ("amount", DEC),
            ("unit", T),
            ("times_of_day", JSON),
            ("daily_target", DEC_N),
            ("status", T),
            ("starts_on", D),
            ("ends_on", D_N),
            ("stopped_on", D_N),
            *STOCK_COLUMNS,
            ("created_at", MS),
            ("updated_at", MS),
        ),
    ),
    Table(
        "supplement_intakes",
        SupplementIntake,
        _cols(
            ("plan_id", ID_N),
            ("supplement", T),
            ("amount", DEC),
            ("unit", T),
            ("taken_at", MS),
            ("taken_on", D),
            ("note", T),
            ("created_at", MS),
            ("updated_at", MS),
        ),
        derived=SERVER_TIMESTAMPS | {"taken_on"},
        creatable=frozenset({"plan_id", "supplement", "amount", "unit", "taken_at", "note"}),
        unstated_when_empty=frozenset({"supplement", "amount", "unit"}),
        create=_intake_create,
        create_many=_intakes_create,
    ),
    Table(
        "stock_refills",
        StockRefill,
        _cols(
            ("item_kind", T),
            ("item_id", ID),
            ("packs", INT_N),
            ("units", INT_N),  # always set on the server; the app may leave it empty when it gives packs
            ("refilled_at", MS),
            ("created_at", MS),
        ),
        # Issue 17: a refill recorded offline. Create-only: a wrong one is put right by a count (PATCH .../stock/).
        creatable=frozenset(REFILL_COLUMNS),
        unstated_when_empty=frozenset({"packs", "units"}),
        create=_refill_create,
    ),
    Table(
        "exercise_plans",
        ExercisePlan,
        _cols(
            ("weight_bearing_minutes_target", INT),
            ("resistance_days_target", INT),
            ("balance_sessions_target", INT),
            ("reminder_days", JSON),
            ("local_time", TM),
            ("status", T),
            ("created_at", MS),
            ("updated_at", MS),
        ),
    ),
    Table(
        "exercise_sessions",
        ExerciseSession,
        _cols(
            ("kind", T),
            ("minutes", INT),
            ("performed_at", MS),
            ("performed_on", D),
            ("note", T),
            ("created_at", MS),
            ("updated_at", MS),
        ),
        derived=SERVER_TIMESTAMPS | {"performed_on"},
        creatable=frozenset({"kind", "minutes", "performed_at", "note"}),
        create=_session_create,
        create_many=_sessions_create,
    ),
    Table(
        "joint_pain_check_ins",
        JointPainCheckIn,
        _cols(
            ("answered_at", MS),
            ("week_of", D),
            ("worst_pain", INT),
            ("stiffness", INT),
            ("interfered", B),
            ("ai_impact", T),
            ("created_at", MS),
            ("updated_at", MS),
        ),
        derived=SERVER_TIMESTAMPS | {"week_of"},
        creatable=frozenset(CHECK_IN_COLUMNS),
        unstated_when_empty=frozenset({"ai_impact"}),
        # Never updated by the app: a changed answer is a new check-in (a new id) of the same week, which replaces
        # the first; an update or a delete of a check-in is rejected per record.
        create=_check_in_create,
    ),
    Table(
        "bone_density_results",
        BoneDensityResult,
        _cols(("measured_on", D), ("site", T), ("t_score", DEC), ("created_at", MS)),
    ),
    Table(
        "appointments",
        Appointment,
        _cols(
            ("kind", T),
            ("schedule_id", ID_N),
            ("starts_at", MS),
            ("location", T),
            ("note", T),
            ("status", T),
            ("cancelled_at", MS_N),
            ("cancel_reason", T),
            ("created_at", MS),
            ("updated_at", MS),
        ),
    ),
    Table(
        "notices",
        Notice,
        _cols(
            ("schedule_id", ID_N),
            ("kind", T),
            ("title", T),
            ("body", T),
            ("episode", T),
            ("published_at", MS),
            ("created_at", MS),
        ),
    ),
)

BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}
BY_DB_TABLE: dict[str, Table] = {table.db_table: table for table in TABLES}
