"""The Django admin behind the staff second factor: django-otp's OTPAdminSite, installed as the default site (so every
app's `admin.register` lands on it).

When the second factor applies (STAFF_MFA_REQUIRED for staff, or the user enrolled a device) a session that has not
given a code is treated as not staff: the admin's sign-in asks for password and code together, and a session
verified in the console is let in as it is."""

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from apps.accounts import mfa


class StaffAdminAuthenticationForm(OTPAdminAuthenticationForm):
    """Password, then the code when the second factor applies to this user (else the code field is ignored)."""

    def clean(self) -> dict[str, Any]:
        # The password check (AuthenticationForm.clean), then the code only when it applies to this user.
        self.cleaned_data = super(OTPAdminAuthenticationForm, self).clean()
        user = self.get_user()
        if user is not None and mfa.second_factor_applies(user):
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user: Any) -> Any:
        # Staff have one authenticator app: it is the device unless the form chose one (django-otp asks to choose).
        return super()._chosen_device(user) or mfa.confirmed_device(user, for_verify=True)


class StaffAdminSite(OTPAdminSite):
    login_form = StaffAdminAuthenticationForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def has_permission(self, request: HttpRequest) -> bool:
        return AdminSite.has_permission(self, request) and not mfa.needs_second_factor(request.user)
