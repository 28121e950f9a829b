"""Member endpoints: PRO plan, payment sessions, "check now", payouts. Each view validates
input, calls one service or selector, and serializes the result."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from p2phub.api.throttling import ScopedRateThrottle
from p2phub.clients.errors import ExternalServiceError
from p2phub.errors import DomainError, ServiceUnavailableError
from payments.api.serializers import (
    PaymentCheckSerializer,
    PaymentCreateSerializer,
    PaymentDetailSerializer,
    PaymentSerializer,
    PayoutCreateSerializer,
    PayoutSerializer,
    ProPlanSerializer,
)
from payments.models import Payment
from payments.selectors import payment_list, payout_list, pro_plan_summary
from payments.services import payment_check_ton, payment_create, payment_submit_usdt, payout_request


class PostThrottledMixin:
    """Throttle writes under `throttle_scope`; reading one's own list stays unthrottled."""

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles = [*throttles, ScopedRateThrottle()]
        return throttles


class ProPlanView(APIView):
    @extend_schema(responses=ProPlanSerializer)
    def get(self, request):
        return Response(ProPlanSerializer(pro_plan_summary(request.partner)).data)


class PaymentViewSet(PostThrottledMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's payments: list, open a session (create), one payment, and "check now"."""

    serializer_class = PaymentSerializer
    throttle_scope = "payments"
    lookup_url_kwarg = "payment_id"
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return payment_list(partner=self.request.partner)

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentDetailSerializer})
    def create(self, request):
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = payment_create(partner=request.partner, method=serializer.validated_data["method"])
        return Response(PaymentDetailSerializer(payment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PaymentDetailSerializer)
    def retrieve(self, request, payment_id: str):
        # Someone else's payment is indistinguishable from a missing one (get_object → 404).
        return Response(PaymentDetailSerializer(self.get_object()).data)

    @extend_schema(request=PaymentCheckSerializer, responses=PaymentDetailSerializer)
    @action(detail=True, methods=["post"])
    def check(self, request, payment_id: str):
        payment = self.get_object()
        serializer = PaymentCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if payment.method == Payment.Method.USDT:
            tx_hash = serializer.validated_data.get("tx_hash")
            if not tx_hash:
                raise DomainError("Send the USDT transaction hash as tx_hash.", code="tx_hash_required")
            payment = payment_submit_usdt(partner=request.partner, payment_id=payment.pk, tx_hash=tx_hash)
        else:
            try:
                payment = payment_check_ton(partner=request.partner, payment_id=payment.pk)
            except ExternalServiceError as exc:
                # Nothing was written; the 30-second poller keeps trying in the background.
                raise ServiceUnavailableError(
                    "The TON indexer is unavailable right now; your payment will still be detected automatically.",
                    code="indexer_unavailable",
                ) from exc
        return Response(PaymentDetailSerializer(payment).data)


class PayoutViewSet(PostThrottledMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = PayoutSerializer
    throttle_scope = "payouts"

    def get_queryset(self):
        return payout_list(partner=self.request.partner)

    @extend_schema(request=PayoutCreateSerializer, responses={201: PayoutSerializer})
    def create(self, request):
        serializer = PayoutCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = payout_request(partner=request.partner, **serializer.validated_data)
        return Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)
