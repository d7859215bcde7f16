from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from apps.fhir.models import FhirClient


@admin.register(FhirClient)
class FhirClientAdmin(admin.ModelAdmin[FhirClient]):
    """Register a backend system (or use `manage.py fhir_client_create`), see its keys, deactivate it. The keys of an
    existing client are read-only: a new key set means a new client (the old one deactivated)."""

    list_display = ["name", "client_id", "organisation", "is_active", "allow_write", "created_at", "created_by"]
    list_filter = ["is_active", "allow_write", "organisation"]
    search_fields = ["name", "client_id"]
    actions = ["deactivate"]

    def get_readonly_fields(self, request: HttpRequest, obj: FhirClient | None = None) -> list[str]:
        fixed = ["client_id", "created_at", "created_by"]
        return fixed if obj is None else [*fixed, "organisation", "jwks"]

    def save_model(self, request: HttpRequest, obj: FhirClient, form: ModelForm[FhirClient], change: bool) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Deactivate the selected clients (their tokens stop working at once)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[FhirClient]) -> None:
        count = queryset.filter(is_active=True).update(is_active=False)
        self.message_user(request, f"{count} client(s) deactivated.", messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deactivate, don't delete: the client's history (who read what) stays attributable.
        return False
