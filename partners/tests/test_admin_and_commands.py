import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditLog, EventType
from partners.management.commands.seed_demo import DEMO_TELEGRAM_BASE
from partners.models import Partner
from partners.tests.factories import PartnerFactory, make_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(user)
    return client


def test_staff_login_page_and_admin_require_staff(client, django_user_model):
    assert client.get("/admin/").status_code == 302
    member = django_user_model.objects.create_user("member", password="pw-123456789")
    client.force_login(member)
    assert client.get("/admin/partners/partner/").status_code == 302


def test_partner_changelist_shows_the_tree_and_searches(admin_client):
    top = PartnerFactory(first_name="Tree", last_name="Top")
    child = PartnerFactory(referrer=top)
    assert admin_client.get("/admin/partners/partner/").status_code == 200
    by_code = admin_client.get("/admin/partners/partner/", {"q": child.referral_code.lower()})
    assert child.username in by_code.content.decode()
    by_telegram = admin_client.get("/admin/partners/partner/", {"q": str(top.telegram_id)})
    assert "Tree Top" in by_telegram.content.decode()
    assert admin_client.get("/admin/partners/partner/", {"q": "not-a-number"}).status_code == 200


def test_partner_change_page_keeps_tree_fields_read_only(admin_client):
    partner = PartnerFactory()
    response = admin_client.get(reverse("admin:partners_partner_change", args=[partner.pk]))
    assert response.status_code == 200
    assert 'name="path"' not in response.content.decode()
    assert 'name="referral_code"' not in response.content.decode()


def test_admin_cannot_delete_partners(admin_client):
    partner = PartnerFactory()
    assert admin_client.get(reverse("admin:partners_partner_delete", args=[partner.pk])).status_code == 403


def test_admin_move_action_refuses_cycles_and_audits_moves(admin_client):
    a, b, c = make_chain(3)
    other = PartnerFactory()
    url = reverse("admin:partners_partner_changelist")
    admin_client.post(url, {"action": "move_under_sponsor", "_selected_action": [a.pk], "sponsor_code": c.referral_code})
    assert Partner.objects.get(pk=a.pk).path == a.path
    admin_client.post(url, {"action": "move_under_sponsor", "_selected_action": [b.pk], "sponsor_code": other.referral_code})
    assert Partner.objects.get(pk=b.pk).referrer_id == other.pk
    assert AuditLog.objects.filter(event_type=EventType.PARTNER_MOVED, partner_id=b.pk).exists()


def test_admin_drag_and_drop_goes_through_the_audited_move(admin_client):
    a, b = make_chain(2)
    other = PartnerFactory()
    assert admin_client.post("/admin/partners/partner/move/", {"node": b.pk, "target": other.pk, "relation": "child"}).status_code == 200
    assert Partner.objects.get(pk=b.pk).referrer_id == other.pk
    assert admin_client.post("/admin/partners/partner/move/", {"node": a.pk, "target": b.pk, "relation": "sibling"}).status_code == 400


def test_seed_demo_builds_a_deep_network_and_is_idempotent():
    call_command("seed_demo", members=120, verbosity=0)
    demo = Partner.objects.filter(telegram_id__gte=DEMO_TELEGRAM_BASE)
    assert demo.count() == 120
    assert demo.order_by("-depth").first().depth > 12
    call_command("seed_demo", members=120, verbosity=0)
    assert demo.count() == 120
    assert Partner.objects.find_problems() == ([], [], [], [], [])


def test_demo_init_data_signs_a_working_header(client, capsys):
    partner = PartnerFactory()
    call_command("demo_init_data", str(partner.telegram_id))
    header = capsys.readouterr().out.strip()
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=header).json()["id"] == partner.pk


def test_admin_edit_is_audited(admin_client):
    partner = PartnerFactory()
    url = reverse("admin:partners_partner_change", args=[partner.pk])
    data = {"username": "renamed", "first_name": partner.first_name, "last_name": partner.last_name, "language": "en",
            "photo_url": "", "notifications_enabled": "on", "leaderboard_visibility": "visible"}
    assert admin_client.post(url, data).status_code == 302
    row = AuditLog.objects.get(event_type=EventType.STAFF_ACTION, partner_id=partner.pk)
    assert row.metadata["changes"] == {"username": "renamed"} and row.actor.username == "root"
