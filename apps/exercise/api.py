"""Exercise plans, sessions and weekly progress (DOMAIN E1-E3)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_base import PatientDataView, PatientRecordView, request_user
from apps.accounts.models import Patient, User
from apps.exercise import selectors, services
from apps.exercise.models import ExerciseKind, ExercisePlan, ExerciseSession, PlanStatus
from apps.exercise.rules import MAX_SESSION_MINUTES, TARGETS, WEEK_PATTERN, IsoWeek, WeekError, parse_iso_week
from backend.pagination import PaginatedListMixin
from backend.roles import Role
from backend.schema import CLIENT_ID_REUSED
from backend.serializers import (
    AwareDateTimeField,
    BoundedDateField,
    LocalTimeField,
    QuerySerializer,
    StrictSerializer,
    validated,
)

# Patients log their own sessions and keep their own plan; coordinators and admins too; pharmacists read only.
WRITERS = (Role.PATIENT, Role.COORDINATOR, Role.ADMIN)
WEEK_PARAMETER = OpenApiParameter(
    "week",
    str,
    pattern=WEEK_PATTERN,
    description="Local ISO week YYYY-Www, e.g. 2026-W13 (default: her current week)",
)


def _target(name: str, **kwargs: Any) -> serializers.IntegerField:
    target = TARGETS[name]
    return serializers.IntegerField(
        min_value=target.minimum,
        max_value=target.maximum,
        help_text=f"{target.unit.capitalize()} (DOMAIN {target.rule}, default {target.default}); care team only.",
        **kwargs,
    )


def _reminder_days(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        max_length=7,
        help_text="Weekdays to remind her, 0 = Monday; empty: no reminders.",
        **kwargs,
    )


class ExercisePlanOutput(serializers.ModelSerializer[ExercisePlan]):
    reminder_days = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6))
    local_time = LocalTimeField()

    class Meta:
        model = ExercisePlan
        fields = [
            "id",
            "patient",
            "weight_bearing_minutes_target",
            "resistance_days_target",
            "balance_sessions_target",
            "reminder_days",
            "local_time",
            "status",
            "status_changed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]


class ExercisePlanListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "exercise_plan"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        weight_bearing_minutes_target = _target("weight_bearing_minutes", required=False)
        resistance_days_target = _target("resistance_days", required=False)
        balance_sessions_target = _target("balance_sessions", required=False)
        reminder_days = _reminder_days(required=False)
        local_time = LocalTimeField(required=False, help_text="Reminder time in her zone (default 09:00).")

    @extend_schema(
        responses=ExercisePlanOutput(many=True),
        summary="A patient's exercise plans, the active one first, then newest first",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        return self.paginated_response(request, selectors.exercise_plan_list(patient=patient), ExercisePlanOutput)

    @extend_schema(
        request=Input,
        responses={201: ExercisePlanOutput},
        summary="Create her exercise plan (one active at a time); a patient may set only reminder days and time",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        plan = services.exercise_plan_create(actor=request_user(request), patient=patient, **values)
        return self.recorded(plan, ExercisePlanOutput)


class ExercisePlanDetailView(PatientRecordView[ExercisePlan]):
    output = ExercisePlanOutput
    audit_resource = "exercise_plan"
    roles_by_method = {"PATCH": WRITERS}

    class Input(StrictSerializer):
        weight_bearing_minutes_target = _target("weight_bearing_minutes", required=False)
        resistance_days_target = _target("resistance_days", required=False)
        balance_sessions_target = _target("balance_sessions", required=False)
        reminder_days = _reminder_days(required=False)
        local_time = LocalTimeField(required=False)
        status = serializers.ChoiceField(
            choices=PlanStatus.choices, required=False, help_text="Care team only; a stopped plan stays stopped."
        )

    def records(self, patient: Patient) -> QuerySet[ExercisePlan]:
        return selectors.exercise_plan_list(patient=patient)

    def update(self, actor: User, record: ExercisePlan, values: dict[str, Any]) -> ExercisePlan:
        return services.exercise_plan_update(actor=actor, plan=record, **values)

    @extend_schema(responses=ExercisePlanOutput, summary="One exercise plan")
    def get(self, request: Request, patient_id: str, exercise_plan_id: str) -> Response:
        return self.read(request, patient_id, exercise_plan_id)

    @extend_schema(
        request=Input,
        responses=ExercisePlanOutput,
        summary="Change an exercise plan: targets and status (care team), reminder days and time (also the patient)",
    )
    def patch(self, request: Request, patient_id: str, exercise_plan_id: str) -> Response:
        return self.change(request, patient_id, exercise_plan_id)


class WeekQuery(QuerySerializer):
    week = serializers.CharField(required=False, max_length=20)


def week_from_query(request: Request, patient: Patient) -> IsoWeek | None:
    """The ?week= of the request, None when absent (400 naming "week" when it is not a real ISO week or has not
    begun in her zone)."""
    query = validated(WeekQuery, request.query_params)
    text = query.get("week")
    if text is None:
        return None
    try:
        week = parse_iso_week(text)
    except WeekError as exc:
        raise serializers.ValidationError({"week": [str(exc)]}) from exc
    if week > selectors.current_week(patient):
        raise serializers.ValidationError({"week": [f"Week {week} has not begun in her time zone."]})
    return week


class ExerciseSessionOutput(serializers.ModelSerializer[ExerciseSession]):
    class Meta:
        model = ExerciseSession
        fields = [
            "id",
            "patient",
            "kind",
            "minutes",
            "performed_at",
            "performed_on",
            "note",
            "recorded_by",
            "created_at",
            "updated_at",
        ]


class ExerciseSessionListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "exercise_session"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        id = serializers.UUIDField(
            help_text="Generated by the client; re-posting the same id with the same values is idempotent."
        )
        kind = serializers.ChoiceField(choices=ExerciseKind.choices)
        minutes = serializers.IntegerField(min_value=1, max_value=MAX_SESSION_MINUTES)
        performed_at = AwareDateTimeField(help_text="When it was done: not in the future, at most 400 days ago.")
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "week",
                str,
                pattern=WEEK_PATTERN,
                description="Only sessions of this local ISO week, YYYY-Www (e.g. 2026-W13)",
            )
        ],
        responses=ExerciseSessionOutput(many=True),
        summary="Exercise sessions, newest first",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        week = week_from_query(request, patient)
        rows = selectors.exercise_session_list(patient=patient, week=week)
        return self.paginated_response(request, rows, ExerciseSessionOutput)

    @extend_schema(
        request=Input,
        responses={201: ExerciseSessionOutput, 200: ExerciseSessionOutput, 409: CLIENT_ID_REUSED},
        summary="Log an exercise session (201; 200 when this id was already recorded with the same values)",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        outcome = services.exercise_session_record(
            actor=request_user(request), patient=patient, stated=frozenset(request.data), **values
        )
        return self.recorded(outcome.session, ExerciseSessionOutput, created=outcome.created)


class ExerciseWeeklyOutput(serializers.Serializer[Any]):
    week = serializers.CharField(source="progress.week", help_text="Local ISO week, YYYY-Www.")
    starts_on = BoundedDateField(source="progress.week.monday", help_text="Monday, her local date.")
    ends_on = BoundedDateField(source="progress.week.sunday", help_text="Sunday, her local date.")
    weight_bearing_minutes = serializers.IntegerField(source="progress.weight_bearing_minutes")
    weight_bearing_minutes_target = serializers.IntegerField(
        source="progress.targets.weight_bearing_minutes", help_text="DOMAIN E1 (default 150) or her plan's."
    )
    weight_bearing_met = serializers.BooleanField(source="progress.weight_bearing_met")
    resistance_days = serializers.IntegerField(
        source="progress.resistance_days", help_text="Distinct local days with resistance training."
    )
    resistance_days_target = serializers.IntegerField(
        source="progress.targets.resistance_days", help_text="DOMAIN E2 (default 2) or her plan's."
    )
    resistance_met = serializers.BooleanField(source="progress.resistance_met")
    balance_sessions = serializers.IntegerField(source="progress.balance_sessions")
    balance_sessions_target = serializers.IntegerField(
        source="progress.targets.balance_sessions", help_text="DOMAIN E3 (default 2) or her plan's."
    )
    balance_met = serializers.BooleanField(source="progress.balance_met")
    logged = serializers.BooleanField(
        source="progress.logged",
        help_text="Any session was logged this week; false: the zeros above mean nothing was logged, not none done.",
    )
    on_target = serializers.BooleanField(source="progress.on_target", help_text="All three targets met.")
    streak_weeks = serializers.IntegerField(
        help_text="Consecutive weeks on target ending with this one (the current week counts once on target; "
        "until then the streak ending last week). At most 52."
    )
    plan = serializers.UUIDField(source="plan.id", allow_null=True, help_text="Her active plan; null: DOMAIN defaults.")


class ExerciseWeeklyView(PatientDataView):
    audit_resource = "exercise_weekly"

    @extend_schema(
        parameters=[WEEK_PARAMETER],
        responses=ExerciseWeeklyOutput,
        summary="Weekly exercise progress against her targets (DOMAIN E1-E3) and the streak of weeks on target",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        week = week_from_query(request, patient) or selectors.current_week(patient)
        return Response(ExerciseWeeklyOutput(selectors.weekly_summary(patient=patient, week=week)).data)
