"""Writes for patient profiles, DXA results and labs. Keyword-only, validated, atomic."""

from datetime import date, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.account_tokens import invitation_create
from apps.accounts.models import Organisation, Patient, User
from apps.accounts.services import care_team_assign, user_create
from apps.accounts.tasks import enqueue_after_commit, send_account_email
from apps.profiles.lab_ranges import lab_value_errors
from apps.profiles.models import AiStopReason, BoneDensityResult, LabResult, PatientProfile
from apps.profiles.rules import add_months
from backend import clock
from backend.errors import ConflictError
from backend.events import AiCourseResumed, AiCourseStopped, ProfileChanged, ResultRecorded, publish
from backend.roles import Role

PROFILE_FIELDS = (
    "birth_date",
    "timezone",
    "aromatase_inhibitor",
    "ai_started_on",
    "ai_planned_years",  # the planned course (DOMAIN T1): at most one of these two; the care team's
    "ai_planned_end_on",
    "height_cm",
    "weight_kg",
    "smoker",
    "family_hip_fracture",
    "prior_fragility_fracture",
    "oral_corticosteroids_months",
    "prior_skeletal_radiation",
    "bone_metastases",
    "cannot_stay_upright",
    "esophageal_disorder",
    "quiet_hours_start",
    "quiet_hours_end",
    "push_detail_opt_in",
    "check_in_weekday",
    "check_in_time",
    "phone",
    "phone_alt",
    "preferred_channel",
)
# How the care team reaches her: staff change these (a patient's own app does not, issue 14).
CONTACT_FIELDS = frozenset({"phone", "phone_alt", "preferred_channel"})
# What a patient may change about herself (API, sync, reminder settings); the clinical fields are her care team's.
PATIENT_EDITABLE = frozenset(
    {"timezone", "quiet_hours_start", "quiet_hours_end", "push_detail_opt_in", "height_cm", "weight_kg", "full_name"}
    | {"check_in_weekday", "check_in_time"}  # her weekly joint-pain check-in reminder (issue 15)
)
# Her reminder settings that live on the profile (the rest are the reminders app's ReminderPreference, whose service
# writes both in one transaction): the only profile columns the app's sync may push.
REMINDER_SETTINGS = frozenset({"quiet_hours_start", "quiet_hours_end", "push_detail_opt_in"}) | frozenset(
    {"check_in_weekday", "check_in_time"}  # when her weekly joint-pain check-in reminder comes (issue 15)
)
CHECK_IN_WEEKDAYS = range(7)  # 0 = Monday .. 6 = Sunday (Python's weekday())
MAX_AGE_YEARS = 120


def _profile_errors(profile: PatientProfile) -> dict[str, list[str]]:
    """Cross-field and calendar checks the field validators cannot see."""
    errors: dict[str, list[str]] = {}
    zone_ok = clock.is_valid_timezone(profile.timezone)
    today = clock.local_today(profile.timezone) if zone_ok else clock.now().date()
    if not zone_ok:
        errors["timezone"] = [f"Unknown time zone {profile.timezone!r}; use an IANA name like Europe/Paris."]
    birth: date = profile.birth_date
    if birth > today:
        errors["birth_date"] = ["Birth date cannot be in the future."]
    elif today.year - birth.year > MAX_AGE_YEARS:
        errors["birth_date"] = [f"Birth date is more than {MAX_AGE_YEARS} years ago."]
    started = profile.ai_started_on
    if started is not None:
        if started < birth:
            errors["ai_started_on"] = ["Therapy cannot start before birth."]
        elif started > add_months(today, 12):
            errors["ai_started_on"] = ["Therapy start is more than a year ahead."]
    errors.update(_ai_course_errors(profile))
    if (profile.quiet_hours_start is None) != (profile.quiet_hours_end is None):
        errors["quiet_hours_end" if profile.quiet_hours_end is None else "quiet_hours_start"] = [
            "Quiet hours need both a start and an end."
        ]
    if profile.check_in_weekday not in CHECK_IN_WEEKDAYS:  # the sync push is not checked by a serializer
        errors["check_in_weekday"] = ["A weekday from 0 (Monday) to 6 (Sunday)."]
    if not isinstance(profile.check_in_time, time):
        errors["check_in_time"] = ["A local time, e.g. 18:00."]
    if profile.phone_alt and not profile.phone:
        errors["phone"] = ["Give the main number first; the other number is a second one."]
    elif profile.phone_alt and profile.phone_alt == profile.phone:
        errors["phone_alt"] = ["This is the same number as the main one."]
    return errors


def _ai_course_errors(profile: PatientProfile) -> dict[str, list[str]]:
    """The planned course (DOMAIN T1): a length in years or an end date, not both; an end after the start; a length
    needs the start it counts from."""
    errors: dict[str, list[str]] = {}
    started, end = profile.ai_started_on, profile.ai_planned_end_on
    if profile.ai_planned_years is not None and end is not None:
        errors["ai_planned_end_on"] = ["Give the planned length in years or an end date, not both."]
    elif profile.ai_planned_years is not None and started is None:
        errors["ai_planned_years"] = ["Give the start date (ai_started_on) too: the planned length counts from it."]
    elif end is not None and started is not None and end <= started:
        errors["ai_planned_end_on"] = [f"Must be after the start of the course ({started.isoformat()})."]
    return errors


def _one_planned_length(changes: dict[str, Any]) -> None:
    """Setting one way of planning the course (years or an end date) clears the other, unless both are sent."""
    for given, other in (("ai_planned_years", "ai_planned_end_on"), ("ai_planned_end_on", "ai_planned_years")):
        if changes.get(given) is not None and other not in changes:
            changes[other] = None


def _save_profile(profile: PatientProfile) -> PatientProfile:
    errors = _profile_errors(profile)
    if errors:
        raise ValidationError(errors)
    profile.save()
    return profile


@transaction.atomic
def patient_enrol(
    *,
    actor: User,
    email: str,
    organisation: Organisation,
    birth_date: date,
    timezone: str,
    password: str | None = None,
    full_name: str = "",
    mrn: str = "",
    **profile_fields: Any,
) -> Patient:
    """Create a patient's login, her membership and profile; the enrolling coordinator joins her care team. `mrn`:
    her clinic's medical record number, unique in the organisation (a duplicate: ValidationError on `mrn`). Without
    a password she is invited to choose her own: the invitation is emailed once this transaction commits."""
    unknown = set(profile_fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    user = user_create(
        email=email, password=password, role=Role.PATIENT, organisation=organisation, full_name=full_name, actor=actor
    )
    patient = Patient(user=user, organisation=organisation, mrn=mrn)
    _save_patient(patient, force_insert=True)
    _save_profile(PatientProfile(patient=patient, birth_date=birth_date, timezone=timezone, **profile_fields))
    if actor.role == Role.COORDINATOR:
        care_team_assign(actor=actor, patient=patient, staff=actor)
    if password is None:
        invitation = invitation_create(user=user, actor=actor)
        enqueue_after_commit(send_account_email, str(invitation.pk))
    return patient


MRN_TAKEN = "Another patient of this organisation has this MRN."


def _mrn_taken(patient: Patient) -> bool:
    same = Patient.objects.filter(organisation_id=patient.organisation_id, mrn=patient.mrn)
    return same.exclude(pk=patient.pk).exists()


def _save_patient(patient: Patient, **save: Any) -> None:
    """Validate and save the patient row; an MRN another patient of the organisation has (checked, and caught again
    from the unique constraint when two requests race) is a ValidationError on `mrn`, never a 500."""
    patient.full_clean(exclude=["user", "organisation"], validate_unique=False, validate_constraints=False)
    if patient.mrn and _mrn_taken(patient):
        raise ValidationError({"mrn": [MRN_TAKEN]})
    try:
        with transaction.atomic():
            patient.save(**save)
    except IntegrityError as exc:
        if "patient_mrn_unique_per_org" not in str(exc):
            raise
        raise ValidationError({"mrn": [MRN_TAKEN]}) from exc


@transaction.atomic
def patient_profile_update(
    *, actor: User, patient: Patient, full_name: str | None = None, mrn: str | None = None, **changes: Any
) -> Patient:
    """Change profile fields, her name and her MRN. A patient (the actor) changes only PATIENT_EDITABLE (not her
    MRN); a field she may not change refuses the whole update, naming each such field. Who may write at all is the
    caller's scope check."""
    if actor.role == Role.PATIENT:
        asked = (
            set(changes) | ({"full_name"} if full_name is not None else set()) | ({"mrn"} if mrn is not None else set())
        )
        refused = sorted(asked - PATIENT_EDITABLE)
        if refused:
            raise ValidationError({name: ["Only your care team can change this."] for name in refused})
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    _one_planned_length(changes)
    profile = PatientProfile.objects.select_for_update().get(pk=patient.pk)
    changed = {name for name, value in changes.items() if getattr(profile, name) != value}
    for name, value in changes.items():
        setattr(profile, name, value)
    _save_profile(profile)
    if full_name is not None:
        patient.user.full_name = full_name.strip()
        patient.user.save(update_fields=["full_name"])
    if mrn is not None and mrn != patient.mrn:
        patient.mrn = mrn
        _save_patient(patient, update_fields=["mrn", "updated_at"])
    patient.profile = profile
    if changed:
        publish(ProfileChanged(patient_id=patient.pk, changed=frozenset(changed)))
    return patient


def _check_measured_on(patient: Patient, measured_on: date) -> None:
    """A result dated in the future or before birth is a typo, and would skew the next-DXA date (H4)."""
    if measured_on > clock.local_today(patient.profile.timezone):
        raise ValidationError({"measured_on": ["Cannot be in the future."]})
    if measured_on < patient.profile.birth_date:
        raise ValidationError({"measured_on": ["Cannot be before the patient's birth date."]})


@transaction.atomic
def bone_density_record(
    *, actor: User | None, patient: Patient, measured_on: date, site: str, t_score: Decimal
) -> BoneDensityResult:
    _check_measured_on(patient, measured_on)
    result = BoneDensityResult(patient=patient, measured_on=measured_on, site=site, t_score=t_score, recorded_by=actor)
    result.full_clean()
    result.save()
    publish(ResultRecorded(patient_id=patient.pk, result_id=result.pk, result_kind="bone_density"))
    return result


@transaction.atomic
def lab_record(
    *, actor: User | None, patient: Patient, kind: str, value: Decimal, unit: str, measured_on: date
) -> LabResult:
    _check_measured_on(patient, measured_on)
    errors = lab_value_errors(kind, unit, value)
    if errors:
        raise ValidationError(errors)
    result = LabResult(patient=patient, kind=kind, value=value, unit=unit, measured_on=measured_on, recorded_by=actor)
    result.full_clean()
    result.save()
    publish(ResultRecorded(patient_id=patient.pk, result_id=result.pk, result_kind="lab"))
    return result


# --- the aromatase-inhibitor course (DOMAIN T1, issue 15) ---------------------------------------------------------
@transaction.atomic
def ai_course_stop(*, actor: User, patient: Patient, stopped_on: date, reason: str) -> tuple[PatientProfile, bool]:
    """She stopped her aromatase inhibitor on `stopped_on` (her local date, the first day off it), for `reason`:
    recorded once, announced with AiCourseStopped (her coordinators' alert, her AI schedules stopped). The same stop
    sent again (an app retrying) changes nothing; another while one is recorded is a conflict (409): resume first.
    Returns the profile and whether this call recorded the stop."""
    if reason not in AiStopReason.values:
        raise ValidationError({"reason": [f"Must be one of: {', '.join(AiStopReason.values)}."]})
    profile = PatientProfile.objects.select_for_update().get(pk=patient.pk)
    if not profile.aromatase_inhibitor:
        raise ValidationError({"reason": ["No aromatase inhibitor is recorded for her: record it on her profile."]})
    today = clock.local_today(profile.timezone)
    if stopped_on > today:
        raise ValidationError(
            {"stopped_on": [f"Cannot be in the future: today is {today.isoformat()} in the patient's time zone."]}
        )
    if profile.ai_started_on is not None and stopped_on < profile.ai_started_on:
        raise ValidationError(
            {"stopped_on": [f"Cannot be before the course started ({profile.ai_started_on.isoformat()})."]}
        )
    if stopped_on < profile.birth_date:
        raise ValidationError({"stopped_on": ["Cannot be before the birth date on record."]})
    if profile.ai_stopped_on is not None:
        if (profile.ai_stopped_on, profile.ai_stop_reason) == (stopped_on, reason):
            return profile, False
        raise ConflictError(
            f"A stop is already recorded ({profile.ai_stopped_on.isoformat()}, {profile.ai_stop_reason}): "
            "resume the course first to record another.",
            {"stopped_on": [f"Already stopped on {profile.ai_stopped_on.isoformat()}."]},
        )
    profile.ai_stopped_on, profile.ai_stop_reason = stopped_on, reason
    _save_profile(profile)
    patient.profile = profile
    publish(AiCourseStopped(patient_id=patient.pk, reason=reason, stopped_on=stopped_on))
    return profile, True


@transaction.atomic
def ai_course_resume(*, actor: User, patient: Patient) -> PatientProfile:
    """She restarted her aromatase inhibitor: the recorded stop is cleared and AiCourseResumed resolves its alert.
    Nothing recorded: nothing to do (an app retrying). Her stopped AI schedule stays stopped: the care team enters
    the new one, which the pharmacist reviews."""
    profile = PatientProfile.objects.select_for_update().get(pk=patient.pk)
    stopped_on = profile.ai_stopped_on
    if stopped_on is None:
        return profile
    profile.ai_stopped_on, profile.ai_stop_reason = None, ""
    _save_profile(profile)
    patient.profile = profile
    publish(AiCourseResumed(patient_id=patient.pk, stopped_on=stopped_on))
    return profile
