from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from p2phub.api.throttling import ScopedRateThrottle
from partners import links
from referrals.api.serializers import (
    FunnelSerializer,
    ShareEventCreateSerializer,
    ShareEventSerializer,
    ShareKitSerializer,
)
from referrals.models import Platform
from referrals.qr import KINDS, qr_etag, qr_render
from referrals.selectors import share_funnel, share_kit
from referrals.share_services import share_event_record


class ShareKitView(APIView):
    """The caller's share kit: links, share URLs of 8 platforms, filled templates, QR URLs."""

    @extend_schema(responses=ShareKitSerializer)
    def get(self, request):
        return Response(ShareKitSerializer(share_kit(request.partner)).data)


class ShareFunnelView(APIView):
    """The caller's own funnel per platform: shares → clicks → signups → PRO purchases."""

    @extend_schema(responses=FunnelSerializer)
    def get(self, request):
        return Response(FunnelSerializer({"platforms": share_funnel(partner=request.partner)}).data)


class ShareEventViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Record that the caller used a share button (throttled per member, scope `share_events`)."""

    serializer_class = ShareEventCreateSerializer
    throttle_classes = [*APIView.throttle_classes, ScopedRateThrottle]
    throttle_scope = "share_events"

    @extend_schema(request=ShareEventCreateSerializer, responses={201: ShareEventSerializer})
    def create(self, request):
        serializer = ShareEventCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = share_event_record(partner=request.partner, platform=serializer.validated_data["platform"])
        return Response(ShareEventSerializer(event).data, status=status.HTTP_201_CREATED)


class ShareQRView(APIView):
    """The QR code of the caller's link (the web link tagged `qr`), as SVG or PNG. Cacheable:
    the ETag is known before drawing, so a conditional GET answers 304."""

    @extend_schema(
        responses={
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY, description="The QR code as SVG."),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="The QR code as PNG."),
            304: OpenApiResponse(description="Not modified (If-None-Match matched the ETag)."),
        }
    )
    def get(self, request, kind: str):
        content = links.web_link(request.partner.referral_code, Platform.QR)
        etag = qr_etag(content, kind)
        headers = {"ETag": etag, "Cache-Control": "private, max-age=86400", "Vary": "Authorization, Cookie"}
        candidates = {value.strip() for value in request.headers.get("If-None-Match", "").split(",")}
        if etag in candidates or f"W/{etag}" in candidates:
            response = HttpResponseNotModified()
        else:
            response = HttpResponse(qr_render(content, kind), content_type=KINDS[kind])
        for name, value in headers.items():
            response[name] = value
        return response
