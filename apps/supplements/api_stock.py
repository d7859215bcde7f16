"""A supplement plan's stock and refills over REST (issue 17): the same endpoints as a schedule's
(apps.medications.api_stock), on her supplement plans."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import Patient
from apps.medications.api_stock import (
    REFILL_POST,
    STOCK_GET,
    STOCK_PATCH,
    RefillInput,
    RefillView,
    StockInput,
    StockOutput,
    StockView,
)
from apps.supplements import selectors
from backend.schema import CLIENT_ID_REUSED


class SupplementPlanStockView(StockView):
    audit_resource = "supplement_plan_stock"
    lookup = "supplement_plan_id"

    def records(self, patient: Patient) -> QuerySet[Any]:
        return selectors.plan_list(patient=patient)

    @extend_schema(responses=StockOutput, summary=STOCK_GET)
    def get(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return super().get(request, patient_id, **kwargs)

    @extend_schema(request=StockInput, responses=StockOutput, summary=STOCK_PATCH)
    def patch(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return super().patch(request, patient_id, **kwargs)


class SupplementPlanRefillView(RefillView):
    audit_resource = "supplement_plan_stock"
    lookup = "supplement_plan_id"

    def records(self, patient: Patient) -> QuerySet[Any]:
        return selectors.plan_list(patient=patient)

    @extend_schema(
        request=RefillInput,
        responses={201: StockOutput, 200: StockOutput, 409: CLIENT_ID_REUSED},
        summary=REFILL_POST,
    )
    def post(self, request: Request, patient_id: str, **kwargs: str) -> Response:
        return super().post(request, patient_id, **kwargs)
