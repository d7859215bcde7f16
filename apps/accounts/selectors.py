"""Reads for accounts, scoped through backend.access."""

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

from apps.accounts.models import Organisation, Patient, User
from backend.access import NotInScope, access_patient_data_by_user, get_or_404, organisation_scope, patient_scope
from backend.roles import STAFF_ROLES
from backend.text import search_key

M = TypeVar("M", bound=Model)


def patient_list(*, user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(patient_scope(user, via="")).select_related("user", "organisation")


def access_patient_by_user(user: User, patient_id: object) -> Patient:
    """The patient if `user` may see her; Http404 otherwise."""
    return access_patient_data_by_user(Patient.objects.select_related("user", "organisation"), user, patient_id, via="")


def access_patient_in_organisation(user: User, patient_id: object) -> Patient:
    """A patient of the user's organisation (care-team management), whether or not assigned to the user."""
    try:
        return get_or_404(Patient.objects.filter(organisation_scope(user)), patient_id)
    except Http404 as exc:
        raise NotInScope(resource="patient", requested_id=patient_id) from exc


def organisation_list(*, user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(organisation_scope(user, via=""))


def access_organisation_by_user(user: User, organisation_id: object) -> Organisation:
    return get_or_404(organisation_list(user=user), organisation_id)


def staff_list(*, user: User) -> QuerySet[User]:
    return User.objects.filter(role__in=STAFF_ROLES).filter(organisation_scope(user)).select_related("organisation")


def access_staff_by_user(user: User, staff_id: object) -> User:
    return get_or_404(staff_list(user=user), staff_id)


def patient_search(queryset: QuerySet[M], q: str, *, via: str = "") -> QuerySet[M]:
    """Rows whose patient's name or email contains `q`, ignoring case and accents ("Martinez" finds "Martínez"):
    the stored folded key (User.search_name), so PostgreSQL and SQLite agree. `via` is the path to the patient
    ("patient" for her alerts)."""
    key = search_key(q)
    if not key:
        return queryset
    return queryset.filter(**{f"{via}__user__search_name__contains" if via else "user__search_name__contains": key})
