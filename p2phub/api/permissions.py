"""Permissions shared by every app's API (apps other than partners need no partner import)."""

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
