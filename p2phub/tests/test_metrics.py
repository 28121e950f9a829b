"""/metrics: token protection, exact metric names, and the counters moved by the services."""

from decimal import Decimal

import pytest
from prometheus_client.parser import text_string_to_metric_families

from p2phub import metrics
from partners.tests.factories import PartnerFactory, make_chain
from payments.services import payment_complete, payment_create, payment_refund

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_api_md_metric_name_is_exposed(client):
    metrics.notification_failed("timeout")  # labelled families show once they have a child
    metrics.referral_failed("1", "DatabaseError")
    names = {name for name, _ in scrape(client)}
    for expected in (
        "referral_processed_total",
        "referral_failed_total",
        "referral_processing_seconds_count",
        "commission_distributed_total",
        "commission_amount_usd_sum",
        "notification_sent_total",
        "notification_failed_total",
        "payments_total",
    ):
        assert expected in names, expected


def test_metrics_token_missing_is_401_wrong_is_403_right_is_200(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_metrics_is_get_only(client):
    assert client.post("/metrics").status_code == 405


def test_a_signup_under_a_nine_chain_moves_referral_processed_once_per_level(client, django_capture_on_commit_callbacks):
    chain = make_chain(9)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        PartnerFactory(referrer=chain[-1])
    after = scrape(client)
    for level in range(1, 10):
        moved = value(after, "referral_processed_total", level=str(level)) - value(before, "referral_processed_total", level=str(level))
        assert moved == 1, level
    assert value(after, "referral_processing_seconds_count") - value(before, "referral_processing_seconds_count") == 1


def test_a_rolled_back_signup_moves_nothing(client):
    from django.db import transaction

    chain = make_chain(2)
    before = scrape(client)
    with pytest.raises(RuntimeError), transaction.atomic():
        PartnerFactory(referrer=chain[-1])
        raise RuntimeError("abort")
    after = scrape(client)
    assert value(after, "referral_processed_total", level="1") == value(before, "referral_processed_total", level="1")


def test_a_completed_payment_moves_commissions_per_level_and_payment_statuses(
    client, settings, staff_user, django_capture_on_commit_callbacks
):
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    chain = make_chain(10)
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_create(partner=chain[-1], method="USDT")
    with django_capture_on_commit_callbacks(execute=True):
        payment_complete(payment_id=payment.pk)
    with django_capture_on_commit_callbacks(execute=True):
        payment_complete(payment_id=payment.pk)  # a repeated confirmation pays and counts nothing
    after = scrape(client)
    for level in range(1, 10):
        key = {"level": str(level)}
        assert value(after, "commission_distributed_total", **key) - value(before, "commission_distributed_total", **key) == 1
    paid = value(after, "commission_amount_usd_sum", level="1") - value(before, "commission_amount_usd_sum", level="1")
    assert Decimal(str(round(paid, 6))) == Decimal("11.7")
    for status in ("pending", "completed"):
        assert value(after, "payments_total", status=status) - value(before, "payments_total", status=status) == 1
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment_id=payment.pk, actor=staff_user)
    assert value(scrape(client), "payments_total", status="refunded") - value(before, "payments_total", status="refunded") == 1


def test_notification_helpers_move_their_counters(client):
    before = scrape(client)
    metrics.notification_sent()
    metrics.notification_failed("blocked")
    after = scrape(client)
    assert value(after, "notification_sent_total") - value(before, "notification_sent_total") == 1
    assert value(after, "notification_failed_total", error_type="blocked") - value(before, "notification_failed_total", error_type="blocked") == 1
