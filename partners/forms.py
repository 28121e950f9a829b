"""Staff sign-in forms: Django's login forms with the rate limit and lockout of
partners.staff_login around the password check."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from p2phub.middleware import client_ip
from partners.staff_login import staff_login_failed, staff_login_lockout_get, staff_login_succeeded


class StaffLoginGuardMixin:
    """A locked-out (username, IP) pair is refused before its password is checked; a failed
    check counts towards the limit; a success clears the count. `self.lockout` tells the view
    (partners.staff_login.staff_login_view) to answer 429."""

    lockout = None

    def clean(self):
        username = self.cleaned_data.get("username")
        ip = client_ip(self.request.META) if self.request is not None else None
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # the field errors already say what is missing
        self.lockout = staff_login_lockout_get(username=username, ip=ip)
        if self.lockout is not None:
            raise forms.ValidationError(self.lockout.message(), code="locked_out")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            reason = next((e.code for e in error.error_list if e.code), None) or "invalid_credentials"
            self.lockout = staff_login_failed(username=username, ip=ip, reason=reason)
            if self.lockout is not None:
                raise forms.ValidationError(self.lockout.message(), code="locked_out") from None
            raise
        staff_login_succeeded(username=username, ip=ip)
        return cleaned


class StaffAuthenticationForm(StaffLoginGuardMixin, AuthenticationForm):
    pass


class StaffAdminAuthenticationForm(StaffLoginGuardMixin, AdminAuthenticationForm):
    pass
