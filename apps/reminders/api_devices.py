"""Push devices of the signed-in user (any role: patients' phones, staff browsers for alert pushes).

POST   /devices/                    register (201 new or moved from another account of the same installation,
                                    200 already yours, 409 another account's token)
GET    /devices/                    your devices, every platform
DELETE /devices/                    {platform, registration_id}: remove yours
DELETE /devices/{id}/?platform=     remove yours (ids are per platform)
"""

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from push_notifications.models import BROWSER_TYPES
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import request_user
from apps.reminders import devices
from backend.errors import ErrorSerializer
from backend.push import PLATFORMS, platform_of
from backend.serializers import DeviceIdField, StrictSerializer, validated

FCM_TOKEN_MAX = 2048  # real tokens are ~150-250 chars; PostgreSQL's unique btree index refuses values over ~2.7 kB
WEBPUSH_ENDPOINT_MAX = 2048
APNS_TOKEN = re.compile(r"^[0-9a-fA-F]{64}$")
PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]+$")  # no spaces or control characters
BROWSERS = [code for code, _ in BROWSER_TYPES]
_https_url = URLValidator(schemes=["https"])
# The server POSTs to WebPush endpoints, so only the browsers' push services are accepted (no requests to
# arbitrary or internal hosts). Chrome/Opera/Samsung: FCM; Firefox: Mozilla autopush; Edge: WNS; Safari: Apple.
DEFAULT_WEBPUSH_HOST_SUFFIXES = (
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "notify.windows.com",
    "push.apple.com",
)


def _b64url_bytes(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


class BrowserField(serializers.ChoiceField):
    """One of the browsers django-push-notifications knows, any case on input (stored upper-case)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=BROWSERS, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data.upper() if isinstance(data, str) else data)


class DeviceOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="Per platform: DELETE /devices/{id}/?platform= needs both.")
    platform = serializers.ChoiceField(choices=PLATFORMS)
    registration_id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    active = serializers.BooleanField(help_text="False once a provider said the token is dead; re-register it.")
    created_at = serializers.DateTimeField(allow_null=True)
    browser = serializers.ChoiceField(choices=BROWSERS, allow_null=True, help_text="WebPush only.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        platform = platform_of(instance)
        return {
            "id": instance.pk,
            "platform": platform,
            "registration_id": instance.registration_id,
            "name": instance.name or "",
            "active": instance.active,
            "created_at": serializers.DateTimeField().to_representation(instance.date_created)
            if instance.date_created
            else None,
            "browser": getattr(instance, "browser", None) if platform == "webpush" else None,
        }


class DeviceKeyInput(StrictSerializer):
    platform = serializers.ChoiceField(choices=PLATFORMS)
    registration_id = serializers.CharField(max_length=4096)


class DeviceListView(APIView):
    class Input(StrictSerializer):
        platform = serializers.ChoiceField(choices=PLATFORMS)
        registration_id = serializers.CharField(
            max_length=4096,
            help_text=(
                f"fcm: the FCM registration token (at most {FCM_TOKEN_MAX} characters); apns: the 64 hex digit "
                f"device token; webpush: the subscription's https endpoint (at most {WEBPUSH_ENDPOINT_MAX})."
            ),
        )
        name = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
        p256dh = serializers.CharField(
            max_length=88, required=False, help_text="WebPush only (required there): the subscription's p256dh key."
        )
        auth = serializers.CharField(
            max_length=24, required=False, help_text="WebPush only (required there): the subscription's auth secret."
        )
        browser = BrowserField(required=False, help_text="WebPush only (required there).")
        device_id = DeviceIdField(
            required=False,
            help_text="The app installation's own random id (made once, kept on the phone; never shown back). A token "
            "another account registered moves to you only when both registrations carry the same device_id (or "
            "after that account signed out with it); otherwise 409.",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            platform = attrs["platform"]
            token: str = attrs["registration_id"]
            errors: dict[str, list[str]] = {}
            webpush_fields = ("p256dh", "auth", "browser")
            if platform == "fcm":
                if len(token) > FCM_TOKEN_MAX:
                    errors["registration_id"] = [f"An FCM token has at most {FCM_TOKEN_MAX} characters."]
                elif not PRINTABLE_ASCII.match(token):
                    errors["registration_id"] = ["An FCM token has no spaces or non-ASCII characters."]
            elif platform == "apns":
                if not APNS_TOKEN.match(token):
                    errors["registration_id"] = ["An APNs device token is 64 hexadecimal digits."]
                attrs["registration_id"] = token.lower()
            else:
                if len(token) > WEBPUSH_ENDPOINT_MAX or not token.isascii() or not _valid_https_url(token):
                    errors["registration_id"] = [
                        f"A WebPush registration id is the subscription's https endpoint URL "
                        f"(at most {WEBPUSH_ENDPOINT_MAX} characters)."
                    ]
                elif not _known_push_service(token):
                    errors["registration_id"] = ["This endpoint is not on a known browser push service."]
                for name in webpush_fields:
                    if name not in attrs:
                        errors[name] = ["This field is required for platform webpush."]
                p256dh = attrs.get("p256dh")
                if p256dh is not None:
                    key = _b64url_bytes(p256dh)
                    if key is None or len(key) != 65 or key[0] != 4:
                        errors["p256dh"] = ["Expected the base64url P-256 public key of the subscription."]
                secret = attrs.get("auth")
                if secret is not None:
                    raw = _b64url_bytes(secret)
                    if raw is None or len(raw) != 16:
                        errors["auth"] = ["Expected the base64url 16-byte auth secret of the subscription."]
            if platform != "webpush":
                for name in webpush_fields:
                    if name in attrs:
                        errors[name] = ["Only for platform webpush."]
            if errors:
                raise serializers.ValidationError(errors)
            return attrs

    @extend_schema(
        responses=DeviceOutput(many=True),
        summary="Your push devices (every platform, inactive ones included)",
        operation_id="devices_list",
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        return Response(DeviceOutput(devices.device_list_for_user(user=user), many=True).data)

    @extend_schema(
        request=Input,
        responses={
            201: OpenApiResponse(
                DeviceOutput, description="Registered for you (new, or moved from another account of this device)."
            ),
            200: OpenApiResponse(DeviceOutput, description="Already yours: name updated, reactivated."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="The token is registered to another account and this registration does not prove the "
                "same app installation (device_id); whose it is is not said.",
            ),
        },
        summary="Register a push device for the signed-in user",
        operation_id="devices_register",
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        values = validated(self.Input, request.data)
        device, created = devices.device_register(user=user, **values)
        return Response(DeviceOutput(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        request=DeviceKeyInput,
        responses={204: None},
        summary="Remove your device by platform and registration id",
        operation_id="devices_delete_by_registration_id",
    )
    def delete(self, request: Request) -> Response:
        user = request_user(request)
        values = validated(DeviceKeyInput, request.data)
        platform = values["platform"]
        registration_id = values["registration_id"]
        if platform == "apns":
            registration_id = registration_id.lower()
        device = devices.access_device_by_registration(user, platform=platform, registration_id=registration_id)
        devices.device_delete(device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceDetailView(APIView):
    class Query(serializers.Serializer[Any]):
        platform = serializers.ChoiceField(choices=PLATFORMS)

    @extend_schema(
        parameters=[OpenApiParameter("platform", str, enum=list(PLATFORMS), required=True)],
        request=None,
        responses={204: None},
        summary="Remove your device",
        operation_id="devices_delete",
    )
    def delete(self, request: Request, device_id: int) -> Response:
        user = request_user(request)
        query = validated(self.Query, request.query_params.dict())
        device = devices.access_device_by_user(user, platform=query["platform"], device_id=device_id)
        devices.device_delete(device=device)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _known_push_service(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    suffixes = getattr(settings, "WEBPUSH_ALLOWED_HOST_SUFFIXES", DEFAULT_WEBPUSH_HOST_SUFFIXES)
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def _valid_https_url(value: str) -> bool:
    try:
        _https_url(value)
    except DjangoValidationError:
        return False
    return True
