from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.api import staff, views

router = SimpleRouter()
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("payouts", views.PayoutViewSet, basename="payout")

urlpatterns = [
    path("pro/", views.ProPlanView.as_view(), name="pro-plan"),
    path(
        "staff/payments/<int:payment_id>/approve/",
        staff.StaffPaymentActionView.as_view(action="approve"),
        name="staff-payment-approve",
    ),
    path(
        "staff/payments/<int:payment_id>/reject/",
        staff.StaffPaymentActionView.as_view(action="reject"),
        name="staff-payment-reject",
    ),
    path(
        "staff/payments/<int:payment_id>/refund/",
        staff.StaffPaymentActionView.as_view(action="refund"),
        name="staff-payment-refund",
    ),
    path("staff/payouts/<int:payout_id>/approve/", staff.StaffPayoutApproveView.as_view(), name="staff-payout-approve"),
    path("staff/payouts/<int:payout_id>/reject/", staff.StaffPayoutRejectView.as_view(), name="staff-payout-reject"),
    path(
        "staff/ton-transfers/<int:transfer_id>/assign/",
        staff.StaffTonTransferAssignView.as_view(),
        name="staff-ton-transfer-assign",
    ),
    path("staff/commission-stats/", staff.CommissionStatsView.as_view(), name="staff-commission-stats"),
] + router.urls
