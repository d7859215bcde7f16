"""Supplement plans, intakes, dietary calcium and the daily nutrition summary (DOMAIN C1-C4, A2)."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, PatientRecordView, request_user
from apps.accounts.models import Patient, User
from apps.medications.api_stock import StockOutput
from apps.supplements import rules, selectors, services
from apps.supplements.foods import FOOD_CHOICES, FOODS
from apps.supplements.models import (
    AmountUnit,
    DietaryCalciumEntry,
    PlanStatus,
    Supplement,
    SupplementIntake,
    SupplementPlan,
)
from backend import clock
from backend.access import get_or_404
from backend.pagination import PaginatedListMixin
from backend.roles import Role
from backend.schema import CLIENT_ID_REUSED
from backend.serializers import (
    AwareDateTimeField,
    BoundedDateField,
    DecimalField,
    LocalTimeField,
    QuerySerializer,
    StrictSerializer,
)

# Patients write their own intakes, diet entries and plans; coordinators and admins for them; pharmacists read.
WRITERS = (Role.PATIENT, Role.COORDINATOR, Role.ADMIN)
SEVERITIES = ["high", "moderate", "low"]
TARGET_SOURCES = [
    ("plan", "Set by a clinician on a plan"),
    ("default", "DOMAIN default"),
    ("none", "No target (DOMAIN C4)"),
]


# --- plans -------------------------------------------------------------------------------------------------------
class SupplementPlanOutput(serializers.ModelSerializer[SupplementPlan]):
    times_of_day = serializers.ListField(child=LocalTimeField(), help_text="Local wall-clock times, HH:MM.")
    effective_daily_target = serializers.SerializerMethodField(
        help_text="daily_target, or the DOMAIN default when none is set (C1 1,200 mg calcium, C3 800 IU vitamin D; "
        "null for magnesium and vitamin K2, C4)."
    )

    stock = StockOutput(
        source="*", help_text="Stock and refills (issue 17); written through .../stock/ and .../refill/."
    )

    class Meta:
        model = SupplementPlan
        fields = [
            "id",
            "patient",
            "supplement",
            "amount",
            "unit",
            "times_of_day",
            "daily_target",
            "effective_daily_target",
            "status",
            "starts_on",
            "ends_on",
            "stopped_on",
            "stock",
            "created_by",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(DecimalField(max_digits=8, decimal_places=1, allow_null=True))
    def get_effective_daily_target(self, plan: SupplementPlan) -> str | None:
        target = plan.daily_target
        if target is None:
            target = rules.NUTRITION_THRESHOLDS.default_daily_target.get(rules.NUTRIENT_OF[plan.supplement])
        return None if target is None else f"{target:.1f}"


PLAN_AMOUNT_HELP = "Per time of day: elemental mg (calcium, magnesium), IU or mcg (vitamin D3), mcg (vitamin K2)."
PLAN_TARGET_HELP = (
    "Care team only: daily total in mg (calcium, magnesium), IU (vitamin D) or mcg (vitamin K2); "
    "null for the DOMAIN default."
)


class SupplementPlanListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "supplement_plan"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        supplement = serializers.ChoiceField(choices=Supplement.choices)
        amount = DecimalField(max_digits=8, decimal_places=2, help_text=PLAN_AMOUNT_HELP)
        unit = serializers.ChoiceField(choices=AmountUnit.choices)
        times_of_day = serializers.ListField(
            child=LocalTimeField(), required=False, default=list, max_length=services.MAX_TIMES_OF_DAY
        )
        starts_on = BoundedDateField(required=False, default=None, help_text="Default: her local today.")
        ends_on = BoundedDateField(required=False, allow_null=True, default=None)
        daily_target = DecimalField(
            max_digits=8, decimal_places=1, required=False, allow_null=True, default=None, help_text=PLAN_TARGET_HELP
        )

    @extend_schema(responses=SupplementPlanOutput(many=True), summary="A patient's supplement plans")
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        return self.paginated_response(request, selectors.plan_list(patient=patient), SupplementPlanOutput)

    @extend_schema(
        request=Input,
        responses={201: SupplementPlanOutput},
        summary="Create a supplement plan (patient, coordinator, admin; only the care team sets a daily target)",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        plan = services.supplement_plan_create(actor=request_user(request), patient=patient, **values)
        return self.recorded(plan, SupplementPlanOutput)


class SupplementPlanDetailView(PatientRecordView[SupplementPlan]):
    output = SupplementPlanOutput
    audit_resource = "supplement_plan"
    roles_by_method = {"PATCH": WRITERS}

    class Input(StrictSerializer):
        amount = DecimalField(max_digits=8, decimal_places=2, required=False, help_text=PLAN_AMOUNT_HELP)
        unit = serializers.ChoiceField(choices=AmountUnit.choices, required=False)
        times_of_day = serializers.ListField(
            child=LocalTimeField(), required=False, max_length=services.MAX_TIMES_OF_DAY
        )
        daily_target = DecimalField(
            max_digits=8, decimal_places=1, required=False, allow_null=True, help_text=PLAN_TARGET_HELP
        )
        status = serializers.ChoiceField(choices=PlanStatus.choices, required=False)
        starts_on = BoundedDateField(required=False)
        ends_on = BoundedDateField(required=False, allow_null=True)

    def records(self, patient: Patient) -> QuerySet[SupplementPlan]:
        return selectors.plan_list(patient=patient)

    def update(self, actor: User, record: SupplementPlan, values: dict[str, Any]) -> SupplementPlan:
        return services.supplement_plan_update(actor=actor, plan=record, **values)

    @extend_schema(responses=SupplementPlanOutput, summary="One supplement plan")
    def get(self, request: Request, patient_id: str, supplement_plan_id: str) -> Response:
        return self.read(request, patient_id, supplement_plan_id)

    @extend_schema(
        request=Input,
        responses=SupplementPlanOutput,
        summary="Change a supplement plan (patient, coordinator, admin); stopping it is final",
    )
    def patch(self, request: Request, patient_id: str, supplement_plan_id: str) -> Response:
        return self.change(request, patient_id, supplement_plan_id)


# --- intakes -----------------------------------------------------------------------------------------------------
class SupplementDayQuery(QuerySerializer):
    date = BoundedDateField(required=False, default=None, help_text="Only this local date (YYYY-MM-DD).")


class SupplementIntakeOutput(serializers.ModelSerializer[SupplementIntake]):
    class Meta:
        model = SupplementIntake
        fields = [
            "id",
            "plan",
            "supplement",
            "amount",
            "unit",
            "taken_at",
            "taken_on",
            "note",
            "recorded_by",
            "created_at",
            "updated_at",
        ]


class SupplementIntakeListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "supplement_intake"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        id = serializers.UUIDField(
            help_text="Generated by the client; re-posting the same id with the same values is idempotent."
        )
        plan = serializers.UUIDField(
            required=False, allow_null=True, default=None, help_text="The plan taken (optional)."
        )
        supplement = serializers.ChoiceField(
            choices=Supplement.choices, required=False, default=None, help_text="Default: the plan's."
        )
        amount = DecimalField(
            max_digits=8,
            decimal_places=2,
            required=False,
            default=None,
            help_text="Elemental mg (calcium, magnesium), IU or mcg (vitamin D3), mcg (vitamin K2); "
            "default: the plan's.",
        )
        unit = serializers.ChoiceField(
            choices=AmountUnit.choices, required=False, default=None, help_text="Default: the plan's."
        )
        taken_at = AwareDateTimeField(help_text="When it was taken: not in the future, at most 400 days ago.")
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[SupplementDayQuery],
        responses=SupplementIntakeOutput(many=True),
        summary="Supplement intakes, newest first",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient, query = self.patient_query(request, patient_id, SupplementDayQuery)
        rows = selectors.intake_list(patient=patient, on=query["date"])
        return self.paginated_response(request, rows, SupplementIntakeOutput)

    @extend_schema(
        request=Input,
        responses={201: SupplementIntakeOutput, 200: SupplementIntakeOutput, 409: CLIENT_ID_REUSED},
        summary="Record a supplement intake (201; 200 when this id was already recorded with the same values)",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        plan_id = values.pop("plan")
        if plan_id is not None:
            try:
                values["plan"] = get_or_404(selectors.plan_list(patient=patient), plan_id)
            except Http404 as exc:
                raise serializers.ValidationError({"plan": ["No such supplement plan for this patient."]}) from exc
        outcome = services.supplement_intake_record(
            actor=request_user(request), patient=patient, stated=frozenset(request.data), **values
        )
        return self.recorded(outcome.intake, SupplementIntakeOutput, created=outcome.created)


# --- dietary calcium ---------------------------------------------------------------------------------------------
class DietaryCalciumOutput(serializers.ModelSerializer[DietaryCalciumEntry]):
    class Meta:
        model = DietaryCalciumEntry
        fields = ["id", "date", "mg", "food", "servings", "note", "recorded_by", "created_at", "updated_at"]


class DietaryCalciumListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "dietary_calcium"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        id = serializers.UUIDField(
            help_text="Generated by the client; re-posting the same id with the same values is idempotent."
        )
        date = BoundedDateField(help_text="Her local date: not in the future, at most 400 days ago.")
        mg = DecimalField(
            max_digits=6,
            decimal_places=1,
            required=False,
            allow_null=True,
            default=None,
            help_text="Calcium in mg; or give food (+ servings) for an estimate.",
        )
        food = serializers.ChoiceField(
            choices=FOOD_CHOICES,
            required=False,
            allow_blank=True,
            default="",
            help_text="A common food (GET /api/v1/calcium-foods/) to estimate from.",
        )
        servings = DecimalField(
            max_digits=4, decimal_places=2, required=False, allow_null=True, default=None, help_text="Default 1."
        )
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[SupplementDayQuery],
        responses=DietaryCalciumOutput(many=True),
        summary="Dietary calcium entries, newest day first",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient, query = self.patient_query(request, patient_id, SupplementDayQuery)
        rows = selectors.diet_list(patient=patient, on=query["date"])
        return self.paginated_response(request, rows, DietaryCalciumOutput)

    @extend_schema(
        request=Input,
        responses={201: DietaryCalciumOutput, 200: DietaryCalciumOutput, 409: CLIENT_ID_REUSED},
        summary="Record dietary calcium: mg, or food + servings (201; 200 when this id was already recorded alike)",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        outcome = services.dietary_calcium_record(
            actor=request_user(request), patient=patient, stated=frozenset(request.data), **values
        )
        return self.recorded(outcome.entry, DietaryCalciumOutput, created=outcome.created)


class CalciumFoodOutput(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    serving = serializers.CharField()
    calcium_mg = DecimalField(max_digits=6, decimal_places=1)


class CalciumFoodListView(APIView):
    @extend_schema(
        responses=CalciumFoodOutput(many=True),
        summary="Calcium per serving of common foods (typical label values), for the dietary estimate",
    )
    def get(self, request: Request) -> Response:
        return Response(CalciumFoodOutput(list(FOODS.values()), many=True).data)


# --- daily summary -----------------------------------------------------------------------------------------------


def _amount(**kwargs: Any) -> serializers.DecimalField:
    return DecimalField(max_digits=14, decimal_places=2, **kwargs)


NOT_LOGGED = "null when nothing was logged that day (not logged, not 0)."


class _NotLoggedAsNull(serializers.Serializer[Any]):
    """Totals of a nutrient with nothing logged that day are null, and `logged` says so."""

    nullable_when_not_logged: tuple[tuple[str, str], ...] = (("total", "logged"),)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name, flag in self.nullable_when_not_logged:
            if not getattr(instance, flag):
                data[name] = None
        return data


class NutritionTargetedOutput(_NotLoggedAsNull):
    total = _amount(allow_null=True, help_text=f"Logged total; {NOT_LOGGED}")
    target = _amount()
    met = serializers.BooleanField(allow_null=True, help_text="total >= target; null when nothing was logged.")
    target_source = serializers.ChoiceField(choices=TARGET_SOURCES)
    logged = serializers.BooleanField(help_text="Anything of this nutrient was logged that day.")


class NutritionCalciumOutput(NutritionTargetedOutput):
    nullable_when_not_logged = (("total", "logged"), ("diet", "diet_logged"), ("supplements", "supplements_logged"))
    diet = _amount(allow_null=True, help_text=f"From dietary calcium entries; {NOT_LOGGED}")
    supplements = _amount(allow_null=True, help_text=f"From calcium supplement intakes; {NOT_LOGGED}")


class NutritionLoggedOutput(_NotLoggedAsNull):
    total = _amount(allow_null=True, help_text=f"Logged total; {NOT_LOGGED}")
    target = _amount(allow_null=True, help_text="Only when a clinician set one.")
    met = serializers.BooleanField(allow_null=True)
    target_source = serializers.ChoiceField(choices=TARGET_SOURCES)
    logged = serializers.BooleanField(help_text="Anything of this nutrient was logged that day.")


class NutritionWarningOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="calcium_dose_over_500 (C2), calcium_too_soon_after_bisphosphonate (A2)")
    severity = serializers.ChoiceField(choices=SEVERITIES)
    message = serializers.CharField()
    rule = serializers.CharField(help_text="DOMAIN rule id.")
    intake_id = serializers.UUIDField(allow_null=True, help_text="The intake the warning is about.")


class NutritionDailyOutput(serializers.Serializer[Any]):
    date = BoundedDateField(help_text="The patient's local date.")
    timezone = serializers.CharField()
    calcium_mg = NutritionCalciumOutput(help_text="Diet + supplements vs the target (C1: 1,200 mg).")
    vitamin_d_iu = NutritionTargetedOutput(help_text="Vitamin D3 (mcg counted as 40 IU) vs the target (C3: 800 IU).")
    magnesium_mg = NutritionLoggedOutput(help_text="Logged; no target unless a clinician set one (C4).")
    vitamin_k2_mcg = NutritionLoggedOutput(help_text="Logged; no target unless a clinician set one (C4).")
    warnings = NutritionWarningOutput(many=True)


class NutritionDailyQuery(QuerySerializer):
    date = BoundedDateField(required=False, default=None, help_text="Her local date; default: her today.")


class NutritionDailyView(PatientDataView):
    audit_resource = "nutrition_daily"

    @extend_schema(
        parameters=[NutritionDailyQuery],
        responses=NutritionDailyOutput,
        summary="One local day's calcium and vitamin D against targets, with warnings (C1-C4, A2)",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient, query = self.patient_query(request, patient_id, NutritionDailyQuery)
        timezone = patient.profile.timezone
        today = clock.local_today(timezone)
        day = query["date"] or today
        if day > today:
            raise serializers.ValidationError({"date": ["Cannot be in the future (her local date)."]})
        daily = selectors.daily_nutrition(patient=patient, day=day, timezone=timezone)
        summary = daily.summary
        return Response(
            NutritionDailyOutput(
                {
                    "date": daily.date,
                    "timezone": daily.timezone,
                    "calcium_mg": summary.calcium_mg,
                    "vitamin_d_iu": summary.vitamin_d_iu,
                    "magnesium_mg": summary.magnesium_mg,
                    "vitamin_k2_mcg": summary.vitamin_k2_mcg,
                    "warnings": summary.warnings,
                }
            ).data
        )
