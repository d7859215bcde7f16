"""Stock and refills over REST (issue 17): the `stock` part of a schedule's or a supplement plan's representation,
and the endpoints that set it up, count it and record a refill. The patient and her coordinators (and admins) write;
pharmacists read, as for her other records. Staff writes are audit-logged by the base view."""

from datetime import date
from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_base import PatientRecordView, request_user
from apps.accounts.models import Patient, User
from apps.medications import selectors
from apps.medications.models import StockTracked
from apps.medications.rules import stock as rules
from apps.medications.stock import stock_refill, stock_update
from backend import clock
from backend.roles import Role
from backend.serializers import BoundedDateField, StrictSerializer

WRITERS = (Role.PATIENT, Role.COORDINATOR, Role.ADMIN)


def _today(item: Any) -> date:
    return clock.local_today(item.patient.profile.timezone)


class StockOutput(serializers.Serializer[Any]):
    stock_on_hand = serializers.IntegerField(allow_null=True, help_text="Units on hand; null: stock not tracked.")
    pack_size = serializers.IntegerField(allow_null=True, help_text="Units in one pack.")
    units_per_dose = serializers.IntegerField(help_text="Units taken at each dose or intake.")
    refill_warning_days = serializers.IntegerField(
        help_text="N: a refill is due when the supply left covers fewer than N days (default 7)."
    )
    stock_counted_at = serializers.DateTimeField(allow_null=True, help_text="Last refill or count.")
    supply_last_on = BoundedDateField(
        allow_null=True, help_text="Her local date of the last dose the units on hand cover (taken as scheduled)."
    )
    days_of_supply = serializers.SerializerMethodField(
        help_text="Days from her today to supply_last_on (0: the last dose on hand is today's); null: not tracked."
    )
    refill_due_on = BoundedDateField(
        allow_null=True,
        help_text="The local date the current refill need opened (or will open); null: none before the plan ends.",
    )
    refill_due = serializers.SerializerMethodField(help_text="True when a refill is due today (days_of_supply < N).")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_days_of_supply(self, item: StockTracked) -> int | None:
        if item.stock_on_hand is None:
            return None
        return rules.days_left(item.supply_last_on, _today(item))

    @extend_schema_field(serializers.BooleanField())
    def get_refill_due(self, item: StockTracked) -> bool:
        if item.stock_on_hand is None or item.refill_due_on is None:
            return False
        return item.refill_due_on <= _today(item)


class StockInput(StrictSerializer):
    stock_on_hand = serializers.IntegerField(
        min_value=0,
        max_value=rules.MAX_STOCK,
        required=False,
        allow_null=True,
        help_text="A count of the units on hand (null: stop tracking).",
    )
    pack_size = serializers.IntegerField(
        min_value=1, max_value=rules.MAX_PACK_SIZE, required=False, allow_null=True, help_text="Units in one pack."
    )
    units_per_dose = serializers.IntegerField(min_value=1, max_value=rules.MAX_UNITS_PER_DOSE, required=False)
    refill_warning_days = serializers.IntegerField(min_value=1, max_value=rules.MAX_WARNING_DAYS, required=False)


class RefillInput(StrictSerializer):
    packs = serializers.IntegerField(
        min_value=1, max_value=rules.MAX_REFILL_PACKS, required=False, help_text="Full packs of pack_size units."
    )
    units = serializers.IntegerField(min_value=1, max_value=rules.MAX_STOCK, required=False, help_text="Or units.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("packs" in attrs) == ("units" in attrs):
            raise serializers.ValidationError({"packs": ["Give either packs or units."]})
        return attrs


class StockView(PatientRecordView[StockTracked]):
    """GET and PATCH of one item's stock. A subclass names the item's records (`records_of`) and the URL kwarg."""

    output = StockOutput
    Input = StockInput
    roles_by_method = {"PATCH": WRITERS}
    lookup: ClassVar[str]

    def update(self, actor: User, record: StockTracked, values: dict[str, Any]) -> StockTracked:
        return stock_update(actor=actor, item=record, **values)

    def get(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return self.read(request, patient_id, kwargs[self.lookup])

    def patch(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return self.change(request, patient_id, kwargs[self.lookup])


class RefillView(PatientRecordView[StockTracked]):
    """POST a refill on one item. A subclass names the item's records and the URL kwarg."""

    output = StockOutput
    Input = RefillInput
    roles_by_method = {"POST": WRITERS}
    lookup: ClassVar[str]

    def post(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        item = self.get_record(request, patient_id, kwargs[self.lookup])
        values = RefillInput(data=request.data)
        values.is_valid(raise_exception=True)
        refilled = stock_refill(actor=request_user(request), item=item, **values.validated_data)
        return Response(StockOutput(refilled).data)


STOCK_GET = "Stock on hand, days of supply and refill due date"
STOCK_PATCH = (
    "Count or set up its stock (patient, coordinator, admin): units on hand (null stops tracking), pack size, "
    "units per dose, N days of warning"
)
REFILL_POST = (
    "Record a refill (patient, coordinator, admin): packs (1-12, of pack_size) or units; the total stays at most "
    f"{rules.MAX_STOCK}"
)


class ScheduleStockView(StockView):
    audit_resource = "schedule_stock"
    lookup = "schedule_id"

    def records(self, patient: Patient) -> QuerySet[Any]:
        return selectors.schedule_list(patient=patient)

    @extend_schema(responses=StockOutput, summary=STOCK_GET)
    def get(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return super().get(request, patient_id, **kwargs)

    @extend_schema(request=StockInput, responses=StockOutput, summary=STOCK_PATCH + "; not for clinic-given injections")
    def patch(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return super().patch(request, patient_id, **kwargs)


class ScheduleRefillView(RefillView):
    audit_resource = "schedule_stock"
    lookup = "schedule_id"

    def records(self, patient: Patient) -> QuerySet[Any]:
        return selectors.schedule_list(patient=patient)

    @extend_schema(request=RefillInput, responses=StockOutput, summary=REFILL_POST)
    def post(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return super().post(request, patient_id, **kwargs)
