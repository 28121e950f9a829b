"""/staff/: who may see it, what it shows (the same figures as the API), and its links."""

import pytest

from audit.models import AuditLog, EventType
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/staff/"


def test_a_signed_in_member_gets_403_and_an_audit_row(client, django_user_model):
    user = django_user_model.objects.create_user(username="member", password="x-pass-12345")
    PartnerFactory(user=user)
    client.force_login(user)
    response = client.get("/staff/")
    assert response.status_code == 403
    assert b"Staff only" in response.content
    row = AuditLog.objects.get(event_type=EventType.SECURITY_STAFF_DENIED)
    assert row.actor_id == user.pk and row.metadata["path"] == "/staff/"


def test_staff_see_the_figures_charts_csv_links_and_admin_links(stats_world, client, staff_user):
    client.force_login(staff_user)
    response = client.get("/staff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "49.53" in html and "15.21" in html and "32.37" in html  # all time, 24 h, 30 d
    assert "13.33%" in html and "3.93" in html
    assert html.count("<svg") == 6  # daily activity, commissions per day, by level, referral funnel, share funnel, growth
    assert "/api/v1/staff/stats/?format=csv&amp;table=daily&amp;days=30" in html
    assert f"/admin/partners/partner/{stats_world.a[3].pk}/change/" in html  # top earner
    assert "/admin/payments/payment/?status__exact=under_review" in html
    assert "Share funnel per platform" in html and "table=share_funnel" in html  # its table and CSV link


def test_the_window_picker_switches_to_14_days(stats_world, client, staff_user):
    client.force_login(staff_user)
    html = client.get("/staff/", {"days": 14}).content.decode()
    assert "Daily activity (14 days)" in html and 'aria-current="true">14 days' in html


@pytest.mark.parametrize("days", ["7", "abc", ""])
def test_a_bad_window_is_a_400_page(client, staff_user, days):
    client.force_login(staff_user)
    response = client.get("/staff/", {"days": days})
    assert response.status_code == 400
    assert b"days" in response.content


def test_chart_labels_are_escaped(stats_world, client, staff_user):
    from partners.models import Partner

    Partner.objects.filter(pk=stats_world.a[3].pk).update(first_name="<script>x</script>", last_name="")
    client.force_login(staff_user)
    html = client.get("/staff/").content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_the_admin_index_links_to_the_staff_dashboard(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert 'href="/staff/"' in html
