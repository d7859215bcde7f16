"""Staff second factor (TOTP through django-otp): who must give a code, enrolment of an authenticator app, and code
checks with django-otp's throttling (each wrong code locks the device for 1, 2, 4, 8 ... seconds).

The console's pages and the admin ask for it through `needs_second_factor`; the API's sign-in asks staff for it with
their password (`otp_token`) before issuing bearer tokens. Patients are never asked.
"""

from base64 import b32encode
from dataclasses import dataclass
from math import ceil
from typing import Any

import django_otp
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.roles import Role

MFA_ROLES = frozenset({Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN})  # staff who can read patient data


def is_mfa_staff(user: Any) -> bool:
    return getattr(user, "role", None) in MFA_ROLES or bool(getattr(user, "is_staff", False))


def confirmed_device(user: Any, *, for_verify: bool = False) -> TOTPDevice | None:
    """Her authenticator app, if she set one up (locked for the transaction when a code is to be checked)."""
    devices = TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk")
    return (devices.select_for_update() if for_verify else devices).first()


def is_verified(user: Any) -> bool:
    """This session gave a valid code (django-otp's middleware sets `is_verified` on request.user)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def second_factor_applies(user: Any) -> bool:
    """Staff must give a code when STAFF_MFA_REQUIRED; anyone who enrolled a device must give it anyway."""
    if not getattr(user, "is_authenticated", False):
        return False
    return (settings.STAFF_MFA_REQUIRED and is_mfa_staff(user)) or confirmed_device(user) is not None


def needs_second_factor(user: Any) -> bool:
    return second_factor_applies(user) and not is_verified(user)


def enrolment_device(user: Any) -> TOTPDevice:
    """The unconfirmed device this user is enrolling (one at a time; created on first visit, its secret kept until
    she confirms it with a code)."""
    with transaction.atomic():
        device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("-pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an authenticator app by hand."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    wait_seconds: int = 0  # > 0: refused without checking, too many wrong codes in a row


def _check(device: TOTPDevice, code: str) -> CodeCheck:
    # Locked for the row: two parallel posts of one code cannot both pass (the code's step is then used up).
    locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    allowed, data = locked.verify_is_allowed()
    if not allowed:
        until = (data or {}).get("locked_until")
        wait = ceil((until - timezone.now()).total_seconds()) if until else 1
        return CodeCheck(ok=False, wait_seconds=max(wait, 1))
    return CodeCheck(ok=bool(locked.verify_token(code.replace(" ", ""))))


def check_code(device: TOTPDevice, code: str) -> CodeCheck:
    """Check a code from the user's confirmed device (a wrong one counts towards its lock)."""
    with transaction.atomic():
        return _check(device, code)


def verify(request: HttpRequest, device: TOTPDevice, code: str) -> CodeCheck:
    """Check a code from the user's confirmed device; on success this session is verified (a new session key)."""
    result = check_code(device, code)
    if result.ok:
        _verified(request, device)
    return result


def confirm_enrolment(request: HttpRequest, device: TOTPDevice, code: str) -> CodeCheck:
    """The first code from the app being enrolled confirms the device and verifies this session."""
    with transaction.atomic():
        result = _check(device, code)
        if result.ok:
            TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
            TOTPDevice.objects.devices_for_user(device.user, confirmed=False).delete()
            device.refresh_from_db()
    if result.ok:
        _verified(request, device)
    return result


def _verified(request: HttpRequest, device: TOTPDevice) -> None:
    request.session.cycle_key()  # the session that gave the code is a new one
    django_otp.login(request, device)
