"""Push devices of users (django-push-notifications' models): registration, removal, lookups.

A registration id (FCM token, APNs device token, WebPush endpoint) belongs to one user at a time: the same id
registered by someone else moves the device to them (a phone changed hands, or another account signed in on it),
so pushes never reach the previous owner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.http import Http404

from apps.accounts.models import User
from backend.push import PLATFORMS, device_model, platform_of

if TYPE_CHECKING:
    from backend.push import PushDevice

MAX_DEVICE_PK = 2**31 - 1  # django-push-notifications' tables use 32-bit AutoField keys


def device_register(
    *,
    user: User,
    platform: str,
    registration_id: str,
    name: str = "",
    p256dh: str = "",
    auth: str = "",
    browser: str = "",
) -> tuple[PushDevice, bool]:
    """Register `registration_id` for `user`; returns (device, created_for_user).

    Idempotent for the user's own id (updates the name when given, reactivates); an id held by another user (or
    by nobody) moves to `user`, reactivated and with the previous owner's name dropped. Two concurrent
    registrations of one new id create one row: the unique constraint decides and the loser takes the update path.
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
                    return device, True
                moved = device.user_id != user.pk
                device.user = user
                device.active = True
                if name or moved:
                    device.name = name
                for key, value in extra.items():
                    setattr(device, key, value)
                device.save()
                return device, moved
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def device_delete(*, device: PushDevice) -> None:
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
        for device in device_model(platform).objects.filter(user_id__in=ids, active=True).order_by("pk"):
            by_user[device.user_id].append(device)
    return by_user
