"""What the provider modules share: the message, the result per device, the device models, small helpers."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from push_notifications.models import APNSDevice, Device, GCMDevice, WebPushDevice

    PushDevice = GCMDevice | APNSDevice | WebPushDevice
    PushDeviceModel = type[GCMDevice] | type[APNSDevice] | type[WebPushDevice]

Platform = Literal["fcm", "apns", "webpush"]
Outcome = Literal["sent", "failed", "dead"]
PLATFORMS: tuple[Platform, ...] = ("fcm", "apns", "webpush")
DEFAULT_TTL_SECONDS = 3600


@dataclass
class PushMessage:
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    # How long a provider may hold the message for an offline device before dropping it.
    ttl_seconds: int = DEFAULT_TTL_SECONDS


@dataclass
class DeliveryResult:
    device_id: int
    platform: str
    outcome: Outcome
    provider_message_id: str = ""
    error: str = ""
    transient: bool = False


def device_models() -> dict[Platform, PushDeviceModel]:
    from push_notifications.models import APNSDevice, GCMDevice, WebPushDevice

    return {"fcm": GCMDevice, "apns": APNSDevice, "webpush": WebPushDevice}


def device_model(platform: str) -> PushDeviceModel:
    for name, model in device_models().items():
        if name == platform:
            return model
    raise ValueError(f"Unknown push platform {platform!r}; expected one of {', '.join(PLATFORMS)}.")


def platform_of(device: Device) -> Platform:
    for platform, model in device_models().items():
        if isinstance(device, model):
            return platform
    raise ValueError(f"{type(device).__name__} is not a supported push device.")


Pair = tuple["Device", PushMessage]


T = TypeVar("T")


def platform_name(device: Device) -> str:
    try:
        return platform_of(device)
    except ValueError:
        return type(device).__name__


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def all_failed(devices: Sequence[Device], platform: str, error: str, *, transient: bool) -> list[DeliveryResult]:
    return [DeliveryResult(int(d.pk), platform, "failed", error=error, transient=transient) for d in devices]


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` from sync code; from inside a running event loop, on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def pn_settings() -> dict[str, Any]:
    from push_notifications.settings import PUSH_NOTIFICATIONS_SETTINGS

    return PUSH_NOTIFICATIONS_SETTINGS
