"""Staff endpoints: payment review and refunds, payout decisions, commission figures. Each
transition is one service call; a state that does not allow it answers 409."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from p2phub.api.permissions import IsStaff
from payments.api.serializers import (
    CommissionStatsSerializer,
    PaymentSerializer,
    PayoutApproveSerializer,
    PayoutSerializer,
    StaffNoteSerializer,
    TonTransferAssignSerializer,
)
from payments.selectors import commission_stats
from payments.services import (
    payment_approve,
    payment_refund,
    payment_reject,
    payout_approve,
    payout_reject,
    ton_transfer_assign,
)


class StaffView(APIView):
    permission_classes = [IsStaff]


class StaffPaymentActionView(StaffView):
    actions = {"approve": payment_approve, "reject": payment_reject, "refund": payment_refund}
    action = ""

    @extend_schema(request=StaffNoteSerializer, responses=PaymentSerializer)
    def post(self, request, payment_id: int):
        serializer = StaffNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = self.actions[self.action]
        payment = service(payment_id=payment_id, actor=request.user, note=serializer.validated_data["note"])
        payment.refresh_from_db()
        return Response(PaymentSerializer(payment).data)


class StaffPayoutApproveView(StaffView):
    @extend_schema(request=PayoutApproveSerializer, responses=PayoutSerializer)
    def post(self, request, payout_id: int):
        serializer = PayoutApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = payout_approve(payout_id=payout_id, actor=request.user, **serializer.validated_data)
        return Response(PayoutSerializer(payout).data)


class StaffPayoutRejectView(StaffView):
    @extend_schema(request=StaffNoteSerializer, responses=PayoutSerializer)
    def post(self, request, payout_id: int):
        serializer = StaffNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = payout_reject(payout_id=payout_id, actor=request.user, **serializer.validated_data)
        return Response(PayoutSerializer(payout).data)


class StaffTonTransferAssignView(StaffView):
    @extend_schema(request=TonTransferAssignSerializer, responses=PaymentSerializer)
    def post(self, request, transfer_id: int):
        serializer = TonTransferAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = ton_transfer_assign(transfer_id=transfer_id, actor=request.user, **serializer.validated_data)
        return Response(PaymentSerializer(payment).data)


class CommissionStatsView(StaffView):
    @extend_schema(responses=CommissionStatsSerializer)
    def get(self, request):
        return Response(CommissionStatsSerializer(commission_stats()).data)
