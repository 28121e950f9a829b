"""Member endpoints: PRO plan, payment sessions, "check now", payouts. Each view validates
input, calls one service or selector, and serializes the result."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

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


class PaymentListCreateView(PostThrottledMixin, generics.ListAPIView):
    serializer_class = PaymentSerializer
    throttle_scope = "payments"

    def get_queryset(self):
        return payment_list(partner=self.request.partner)

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentDetailSerializer})
    def post(self, request):
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = payment_create(partner=request.partner, method=serializer.validated_data["method"])
        return Response(PaymentDetailSerializer(payment).data, status=status.HTTP_201_CREATED)


def _own_payment(request, payment_id: int) -> Payment:
    payment = payment_list(partner=request.partner).filter(pk=payment_id).first()
    if payment is None:  # someone else's payment is indistinguishable from a missing one
        raise Http404
    return payment


class PaymentDetailView(APIView):
    @extend_schema(responses=PaymentDetailSerializer)
    def get(self, request, payment_id: int):
        return Response(PaymentDetailSerializer(_own_payment(request, payment_id)).data)


class PaymentCheckView(APIView):
    throttle_scope = "payments"
    throttle_classes = [ScopedRateThrottle]

    @extend_schema(request=PaymentCheckSerializer, responses=PaymentDetailSerializer)
    def post(self, request, payment_id: int):
        payment = _own_payment(request, payment_id)
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


class PayoutListCreateView(PostThrottledMixin, generics.ListAPIView):
    serializer_class = PayoutSerializer
    throttle_scope = "payouts"

    def get_queryset(self):
        return payout_list(partner=self.request.partner)

    @extend_schema(request=PayoutCreateSerializer, responses={201: PayoutSerializer})
    def post(self, request):
        serializer = PayoutCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = payout_request(partner=request.partner, **serializer.validated_data)
        return Response(PayoutSerializer(payout).data, status=status.HTTP_201_CREATED)
