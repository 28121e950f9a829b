from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from partners import links
from partners.api.serializers import (
    NetworkMemberSerializer,
    NetworkSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
)
from partners.profile import member_list_extra_fields, network_fields, profile_fields
from partners.selectors import partner_network_level
from partners.services import partner_update_preferences


def _profile_data(request, partner) -> dict:
    join_result = getattr(request, "partner_join_result", None)
    fields = profile_fields(partner, new_member=bool(join_result and join_result.created))
    network = fields["network"]
    referrer = partner.referrer  # loaded with the member by the authentication
    data = {
        "id": partner.pk,
        "telegram_id": partner.telegram_id,
        "username": partner.username,
        "first_name": partner.first_name,
        "last_name": partner.last_name,
        "language": partner.language,
        "referral_code": partner.referral_code,
        "referral_link": links.mini_app_link(partner.referral_code),
        "referrer": {"name": referrer.display_name, "referral_code": referrer.referral_code} if referrer else None,
        "is_pro": partner.pro_active_at(timezone.now()),
        "pro_expires_at": partner.pro_expires_at,
        "direct_referrals": network["direct_referrals"],
        "network_size": network["network_size"],
        "joined_at": partner.joined_at,
        "notifications_enabled": partner.notifications_enabled,
        "leaderboard_visibility": partner.leaderboard_visibility,
        "referral_notice": (
            "The referral code was not found, so you joined without a referrer."
            if join_result and join_result.unknown_referral_code
            else None
        ),
    }
    data.update((key, value) for key, value in fields.items() if key != "network")
    return data


class MeView(APIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request):
        return Response(ProfileSerializer(_profile_data(request, request.partner)).data)

    @extend_schema(request=ProfileUpdateSerializer, responses=ProfileSerializer)
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        partner = partner_update_preferences(partner=request.partner, **serializer.validated_data)
        return Response(ProfileSerializer(_profile_data(request, partner)).data)


class NetworkView(APIView):
    @extend_schema(responses=NetworkSerializer)
    def get(self, request):
        return Response(NetworkSerializer(network_fields(request.partner)).data)


class NetworkLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Members at one level (1-9) of the caller's downline; other levels 404."""

    serializer_class = NetworkMemberSerializer

    def get_queryset(self):
        level = int(self.kwargs["level"])  # the route admits digits only
        if not 1 <= level <= 9:
            raise Http404
        return partner_network_level(self.request.partner, level=level)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        extras = member_list_extra_fields(page)
        now = timezone.now()
        rows = [
            {
                "name": member.display_name,
                "username": member.username,
                "joined_at": member.joined_at,
                "is_pro": member.pro_active_at(now),
                "xp_level": extras.get(member.pk, {}).get("xp_level", 1),
            }
            for member in page
        ]
        return self.get_paginated_response(NetworkMemberSerializer(rows, many=True).data)
