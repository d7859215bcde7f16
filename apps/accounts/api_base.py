"""The base of every view under /patients/{patient_id}/: scoped lookup plus audit log, in one place.

Every URL that carries a `patient_id` must be served by a subclass (a test walks the URL conf to check), which is
how new endpoints join the access matrix: by inheriting, not by copying checks.
"""

from typing import Any, ClassVar, Generic, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import Patient, User
from apps.accounts.selectors import access_patient_by_user
from backend.access import access_record_of_patient
from backend.audit import audit_record
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import validated

AUDIT_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}
ALL_ROLES = (Role.PATIENT, Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)
R = TypeVar("R", bound=Model)


def request_user(request: Request) -> User:
    """The signed-in user of a request that passed IsAuthenticated."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user


class PatientDataView(APIView):
    Input: ClassVar[type[serializers.Serializer[Any]]]  # what a POST or PATCH takes
    audit_resource: ClassVar[str] = ""
    # Which roles may use each method once the patient is in scope (scope itself is the access functions').
    roles_by_method: ClassVar[dict[str, tuple[Role, ...]]] = {}

    _patient: Patient | None = None
    _audit_object_id: object = ""

    def get_patient(self, request: Request, patient_id: object) -> Patient:
        """The patient in the URL if the user may see her (404 otherwise) and may use this method (403)."""
        patient = access_patient_by_user(request_user(request), patient_id)
        require_role(request.user, *self.roles_by_method.get(request.method or "GET", ALL_ROLES))
        self._patient = patient
        return patient

    def patient_input(self, request: Request, patient_id: object) -> tuple[Patient, dict[str, Any]]:
        """The patient in the URL (as `get_patient`) and the request's `Input`, validated (400 naming each field)."""
        patient = self.get_patient(request, patient_id)
        return patient, validated(self.Input, request.data)

    def patient_query(
        self, request: Request, patient_id: object, query: type[serializers.Serializer[Any]]
    ) -> tuple[Patient, dict[str, Any]]:
        """The patient in the URL (as `get_patient`) and the request's query parameters, validated by `query`."""
        patient = self.get_patient(request, patient_id)
        return patient, validated(query, request.query_params)

    def audit_object(self, object_id: object) -> None:
        self._audit_object_id = object_id

    def recorded(self, record: Model, output: type[serializers.Serializer[Any]], *, created: bool = True) -> Response:
        """The answer to a POST that recorded `record`: audited as its object, 201 (200 when it was there already)."""
        self.audit_object(record.pk)
        return Response(output(record).data, status=201 if created else 200)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._patient is not None and response.status_code < 400:
            audit_record(
                actor=request.user,
                action=AUDIT_ACTIONS.get(request.method or "GET", "read"),
                resource=self.audit_resource,
                patient_ids=[self._patient.id],
                object_id=self._audit_object_id,
                request=request,
            )
        return response


class PatientRecordView(PatientDataView, Generic[R]):
    """GET and PATCH of one record of the patient in the URL (a schedule, a dose record, a plan): found among her
    records (404 outside them) and audited; a change is the partial `Input` handed to the app's update service.
    A subclass names the records, the update and `output`; its `get` and `patch` carry the schema and call
    `read` and `change`."""

    output: ClassVar[type[serializers.Serializer[Any]]]

    def records(self, patient: Patient) -> QuerySet[R]:
        raise NotImplementedError

    def update(self, actor: User, record: R, values: dict[str, Any]) -> R:
        raise NotImplementedError

    def get_record(self, request: Request, patient_id: str, record_id: str) -> R:
        patient = self.get_patient(request, patient_id)
        record = access_record_of_patient(self.records(patient), record_id)
        self.audit_object(record.pk)
        return record

    def read(self, request: Request, patient_id: str, record_id: str) -> Response:
        return Response(self.output(self.get_record(request, patient_id, record_id)).data)

    def change(self, request: Request, patient_id: str, record_id: str) -> Response:
        record = self.get_record(request, patient_id, record_id)
        values = validated(self.Input, request.data, partial=True)
        return Response(self.output(self.update(request_user(request), record, values)).data)
