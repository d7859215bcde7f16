"""Who may see which patient's data (after Zulip's `access_*_by_*` functions).

Every patient-owned object is fetched through these: they take the requesting user and return the object or raise
Http404 (never 403, so ids of other patients don't leak). Lists use the same scope.

- patients see their own data;
- coordinators see the patients assigned to them (care team) within their organisation;
- pharmacists see the patients of their organisation;
- a backend system (SMART Backend Services, apps/fhir: role SYSTEM) sees the patients of its organisation, like a
  pharmacist;
- admins (platform operators) see everything; nobody else ever crosses an organisation.

The functions are generic: `via` is the lookup path from the queried model to the patient ("" when the queryset
holds patients). Patient models follow a convention: `user`, `organisation`, and the reverse relation `care_team`
whose rows carry `staff`.
"""

from typing import Any, Protocol, TypeVar
from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from backend.roles import SYSTEM, Role

M = TypeVar("M", bound=Model)

NOTHING = Q(pk__in=[])


class ScopedUser(Protocol):
    # Read-only members, so that a frozen principal (apps.fhir.auth.SystemPrincipal) is one too.
    @property
    def pk(self) -> Any: ...

    @property
    def role(self) -> str: ...

    @property
    def organisation_id(self) -> UUID | None: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def is_authenticated(self) -> bool: ...


def _prefix(via: str) -> str:
    return f"{via}__" if via else ""


def patient_scope(user: ScopedUser | None, *, via: str = "patient") -> Q:
    """The filter selecting rows whose patient `user` may see."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    p = _prefix(via)
    if user.role == Role.ADMIN:
        return Q()
    if user.role == Role.PATIENT:
        return Q(**{f"{p}user": user})
    if user.organisation_id is None:
        return NOTHING
    same_org = Q(**{f"{p}organisation_id": user.organisation_id})
    if user.role in (Role.PHARMACIST, SYSTEM):
        return same_org
    if user.role == Role.COORDINATOR:
        # (patient, staff) is unique in the care team, so this join never duplicates rows.
        return same_org & Q(**{f"{p}care_team__staff": user})
    return NOTHING


def organisation_scope(user: ScopedUser | None, *, via: str = "organisation") -> Q:
    """Rows of the user's organisation (staff) or of every organisation (admins); patients get none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.role == Role.ADMIN:
        return Q()
    if user.role in (Role.COORDINATOR, Role.PHARMACIST, SYSTEM) and user.organisation_id is not None:
        return Q(**{f"{via}_id" if via else "pk": user.organisation_id})
    return NOTHING


def scope_patient_data(queryset: QuerySet[M], user: ScopedUser | None, *, via: str = "patient") -> QuerySet[M]:
    return queryset.filter(patient_scope(user, via=via))


def get_or_404(queryset: QuerySet[M], pk: object) -> M:
    """One row by primary key or Http404, also for malformed ids."""
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("Not found.") from exc


class NotInScope(Http404):
    """A lookup of patient data the access functions refused (another patient's id, or no such id: the caller is
    told the same 404). Carries what was asked for, so that the refusal is audit-logged as `denied` where the request
    is known (backend.errors, the console, the care-team view); never anything about the target."""

    def __init__(self, *, resource: str, requested_id: object) -> None:
        super().__init__("Not found.")
        self.resource = resource
        self.requested_id = str(requested_id if requested_id is not None else "")[:64]


def access_patient_data_by_user(
    queryset: QuerySet[M], user: ScopedUser | None, pk: object, *, via: str = "patient"
) -> M:
    """The row `pk` of `queryset` if `user` may see its patient; otherwise NotInScope (an Http404)."""
    try:
        return get_or_404(scope_patient_data(queryset, user, via=via), pk)
    except Http404 as exc:
        raise NotInScope(resource=queryset.model._meta.model_name or "", requested_id=pk) from exc


def access_record_of_patient(queryset: QuerySet[M], pk: object) -> M:
    """A record under a patient already in scope (`queryset` holds only hers, e.g. `.../schedules/{id}/`): the row,
    or a 404. An id that exists but is another patient's is NotInScope (audit-logged as `denied`, like a patient id
    out of scope); an id that exists nowhere (a record deleted since the app fetched it) is a plain 404, so an app's
    stale ids are not counted as probes. The caller gets the same 404 either way."""
    try:
        return get_or_404(queryset, pk)
    except Http404:
        model = queryset.model
        try:
            elsewhere = model._default_manager.filter(pk=pk).exists()
        except (ValidationError, ValueError, TypeError):
            elsewhere = False
        if elsewhere:
            raise NotInScope(resource=model._meta.model_name or "", requested_id=pk) from None
        raise
