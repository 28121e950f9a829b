"""Admin staff tools: the partner overview, USDT corrections with a required reason, and audit
rows that name people."""

from decimal import Decimal

import pytest

from audit.models import AuditLog, EventType
from partners.tests.factories import PartnerFactory, make_chain
from payments.models import USDTEntry
from payments.services import payment_complete, payment_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(settings):
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    chain = make_chain(4)
    PartnerFactory(referrer=chain[1])  # a second member at chain[0]'s level 2
    payment_complete(payment_id=payment_create(partner=chain[-1], method="USDT").pk)
    return chain


def test_partner_page_shows_balances_downline_recent_rows_and_audit_links(bought, admin_client):
    top = bought[0]
    html = admin_client.get(f"/admin/partners/partner/{top.pk}/change/").content.decode()
    assert "Staff overview" in html
    # top is L3 of the buyer: 1.17 USDT. XP: chain[1] joined at L1 (35), chain[2] and the extra
    # member at L2 (10 each), chain[3] at L3 (1): 56.
    assert "USDT balance:</strong> 1.170000" in html
    assert "<strong>XP:</strong> 56" in html
    assert "<td>Members</td><td>1</td><td>2</td><td>1</td>" in html
    assert f"/admin/audit/auditlog/?partner_id={top.pk}" in html
    assert f"/api/v1/staff/audit-logs/?partner={top.pk}&amp;format=csv" in html
    assert "commission" in html and "1.170000" in html


def test_usdt_correction_needs_a_reason_and_is_audited(bought, admin_client, admin_user):
    member = bought[2]
    url = f"/admin/partners/partner/{member.pk}/usdt-correction/"
    assert admin_client.get(url).status_code == 200
    refused = admin_client.post(url, {"amount": "5", "reason": "   "})
    assert refused.status_code == 200 and "This field is required" in refused.content.decode()
    assert not USDTEntry.objects.filter(kind="correction").exists()
    assert admin_client.post(url, {"amount": "0", "reason": "x"}).status_code == 200
    done = admin_client.post(url, {"amount": "-1.50", "reason": "duplicate bonus"})
    assert done.status_code == 302
    entry = USDTEntry.objects.get(kind="correction")
    assert (entry.partner_id, entry.amount, entry.created_by_id) == (member.pk, Decimal("-1.500000"), admin_user.pk)
    row = AuditLog.objects.get(event_type=EventType.USDT_CORRECTION)
    assert row.actor_id == admin_user.pk and row.metadata["reason"] == "duplicate bonus" and row.amount == Decimal("-1.5")


def test_usdt_correction_needs_the_ledger_change_permission(bought, client, django_user_model):
    clerk = django_user_model.objects.create_user(username="clerk", password="pw-123456789", is_staff=True)
    client.force_login(clerk)
    assert client.post(f"/admin/partners/partner/{bought[0].pk}/usdt-correction/", {"amount": "5", "reason": "x"}).status_code == 403
    assert not USDTEntry.objects.filter(kind="correction").exists()


def test_audit_rows_show_names_not_bare_ids(bought, admin_client, admin_user):
    buyer, l1 = bought[-1], bought[-2]
    html = admin_client.get("/admin/audit/auditlog/?event_type=commission_paid").content.decode()
    assert f">{l1.display_name}</a>" in html and f">{buyer.display_name}</a>" in html
    row = AuditLog.objects.filter(event_type=EventType.COMMISSION_PAID, partner_id=l1.pk).get()
    detail = admin_client.get(f"/admin/audit/auditlog/{row.pk}/change/").content.decode()
    assert l1.display_name in detail and buyer.display_name in detail


def test_audit_rows_name_the_staff_actor(bought, admin_client, admin_user):
    admin_client.post(f"/admin/partners/partner/{bought[0].pk}/usdt-correction/", {"amount": "2", "reason": "goodwill"})
    html = admin_client.get("/admin/audit/auditlog/?event_type=usdt_correction").content.decode()
    assert f"{admin_user.get_username()} <span class=\"quiet\">(staff #{admin_user.pk})</span>" in html
