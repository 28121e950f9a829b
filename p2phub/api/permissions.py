"""Permissions shared by every app's API (apps other than partners need no partner import)."""

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """`is_staff` only. An authenticated non-staff caller is a security event (rate-limited per
    caller: p2phub.staff.security); anonymous callers just get 401."""

    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user and user.is_authenticated and user.is_staff:
            return True
        if user and user.is_authenticated:
            from p2phub.staff.security import staff_access_denied

            staff_access_denied(user=user, path=request.path, method=request.method)
        return False
