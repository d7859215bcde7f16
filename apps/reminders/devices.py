"""Push devices of users (django-push-notifications' models): registration, removal, lookups.

A registration id (FCM token, APNs device token, WebPush endpoint) belongs to one user at a time. It moves to
another account only when that registration proves it comes from the same app installation: the app sends its own
random `device_id` (made once per installation) with every registration, and the one that registered the token
must have sent the same (another account signed in on her phone). A previous owner who signs out with her
`device_id` loses the installation's devices (`devices_signed_out`), so the token is then free. Anything else is a
409 that does not say whose the token is: knowing a token is not enough to take over a patient's reminders.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import Http404

from apps.accounts.models import User
from apps.reminders.models import DeviceInstallation
from backend.errors import ConflictError
from backend.lookups import among
from backend.push import PLATFORMS, device_model, platform_of

if TYPE_CHECKING:
    from backend.push import PushDevice

MAX_DEVICE_PK = 2**31 - 1  # django-push-notifications' tables use 32-bit AutoField keys
REGISTERED_ELSEWHERE = (
    "This push token is registered to another account. It moves only when registered from the same app "
    "installation (the same device_id), or after that account signs out on this device."
)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _bind(*, platform: str, registration_id: str, device_id: str) -> None:
    DeviceInstallation.objects.update_or_create(
        platform=platform, token_hash=_sha256(registration_id), defaults={"installation_hash": _sha256(device_id)}
    )


def _bound_installation(*, platform: str, registration_id: str) -> str | None:
    return (
        DeviceInstallation.objects.filter(platform=platform, token_hash=_sha256(registration_id))
        .values_list("installation_hash", flat=True)
        .first()
    )


def device_register(
    *,
    user: User,
    platform: str,
    registration_id: str,
    name: str = "",
    p256dh: str = "",
    auth: str = "",
    browser: str = "",
    device_id: str = "",
) -> tuple[PushDevice, bool]:
    """Register `registration_id` for `user`; returns (device, created_for_user).

    Idempotent for the user's own id (updates the name when given, reactivates; a `device_id` given binds the token
    to that installation). An id held by another user moves to `user` (reactivated, the previous owner's name
    dropped) only when `device_id` is the one it was registered with; otherwise ConflictError (409), nothing
    changed. Two concurrent registrations of one new id create one row: the unique constraint decides and the loser
    takes the path above (a move with the same `device_id`, else the 409).
    """
    model = device_model(platform)
    extra: dict[str, Any] = {}
    if platform == "webpush":
        extra = {"p256dh": p256dh, "auth": auth, "browser": browser}
    elif platform == "fcm":
        extra = {"cloud_message_type": "FCM"}
    for attempt in range(2):
        try:
            with transaction.atomic():
                device = model.objects.select_for_update().filter(registration_id=registration_id).first()
                if device is None:
                    device = model.objects.create(
                        user=user, registration_id=registration_id, name=name, active=True, **extra
                    )
                    if device_id:
                        _bind(platform=platform, registration_id=registration_id, device_id=device_id)
                    else:  # a binding left by a row removed some other way belongs to nobody now
                        DeviceInstallation.objects.filter(
                            platform=platform, token_hash=_sha256(registration_id)
                        ).delete()
                    return device, True
                moved = device.user_id != user.pk
                if moved and device.user_id is not None:
                    bound = _bound_installation(platform=platform, registration_id=registration_id)
                    if not device_id or bound != _sha256(device_id):
                        raise ConflictError(REGISTERED_ELSEWHERE, {"registration_id": [REGISTERED_ELSEWHERE]})
                device.user = user
                device.active = True
                if name or moved:
                    device.name = name
                for key, value in extra.items():
                    setattr(device, key, value)
                device.save()
                if device_id:
                    _bind(platform=platform, registration_id=registration_id, device_id=device_id)
                return device, moved
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def devices_signed_out(*, user_id: Any, device_id: str) -> int:
    """The user signed out on the installation `device_id`: her devices registered from it are removed (the app
    there stops reminding her, and its token is free for the next account). Returns how many were removed."""
    token_hashes = set(
        DeviceInstallation.objects.filter(installation_hash=_sha256(device_id)).values_list("token_hash", flat=True)
    )
    removed = 0
    for platform in PLATFORMS:
        for device in device_model(platform).objects.filter(user_id=user_id).only("pk", "registration_id"):
            if _sha256(device.registration_id) in token_hashes:
                device_delete(device=device)
                removed += 1
    return removed


def device_delete(*, device: PushDevice) -> None:
    DeviceInstallation.objects.filter(platform=platform_of(device), token_hash=_sha256(device.registration_id)).delete()
    device.delete()


def device_list_for_user(*, user: User) -> list[PushDevice]:
    """The user's devices on every platform, active or not, oldest first."""
    devices: list[PushDevice] = []
    for platform in PLATFORMS:
        devices += list(device_model(platform).objects.filter(user=user).order_by("date_created", "pk"))
    devices.sort(key=lambda d: (d.date_created is None, d.date_created, PLATFORMS.index(platform_of(d)), d.pk))
    return devices


def access_device_by_user(user: User, *, platform: str, device_id: int) -> PushDevice:
    """The user's own device, or 404 (someone else's device and no device look the same)."""
    if not 0 < device_id <= MAX_DEVICE_PK:
        raise Http404
    device = device_model(platform).objects.filter(pk=device_id, user=user).first()
    if device is None:
        raise Http404
    return device


def access_device_by_registration(user: User, *, platform: str, registration_id: str) -> PushDevice:
    device = device_model(platform).objects.filter(registration_id=registration_id, user=user).first()
    if device is None:
        raise Http404
    return device


def devices_by_user(*, user_ids: Iterable[Any]) -> dict[Any, list[PushDevice]]:
    """Active devices of these users on every platform (one query per platform, whatever the number of users),
    for the push transport (`backend.push`)."""
    ids = list(user_ids)
    by_user: dict[Any, list[PushDevice]] = defaultdict(list)
    for platform in PLATFORMS:
        for device in device_model(platform).objects.filter(among("user_id", ids), active=True).order_by("pk"):
            by_user[device.user_id].append(device)
    return by_user
