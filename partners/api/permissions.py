from rest_framework.permissions import BasePermission

from partners.models import Partner


def request_partner(request) -> Partner | None:
    """The member behind a request: Mini App principal or a web user's linked partner."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.partner
    except Partner.DoesNotExist:
        return None


class IsPartner(BasePermission):
    """An authenticated member in good standing."""

    message = "This endpoint is for members."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        partner = request_partner(request)
        if partner is None:
            self.message = "This account has no member profile."
            return False
        if partner.status != Partner.Status.ACTIVE:
            self.message = "This account is suspended."
            return False
        request.partner = partner
        return True

