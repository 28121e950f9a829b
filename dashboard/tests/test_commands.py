import pytest

from p2phub.testing.commands import run_command
from partners.models import Partner
from partners.services import partner_set_status
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_web_login_link_prints_a_working_one_time_link(client, settings, capsys):
    settings.SITE_URL = "http://127.0.0.1:8102"
    member = PartnerFactory(telegram_id=990000000000)
    for who in ("990000000000", member.referral_code.lower()):
        code, out = run_command("web_login_link", who)
        assert code == 0 and out.startswith("http://127.0.0.1:8102/login/telegram/")
    path = out.strip().removeprefix("http://127.0.0.1:8102")
    assert client.get(path)["Location"] == "/dashboard/"
    assert client.get(path).status_code == 400  # single use, even for the member it signed in
    code, out = run_command("web_login_link", str(member.pk), "--id")
    assert code == 0


def test_web_login_link_refuses_unknown_and_suspended_members(staff_user):
    assert run_command("web_login_link", "P2P-00000000")[0] == 1
    assert run_command("web_login_link", "nobody")[0] == 1
    member = PartnerFactory()
    partner_set_status(partner=member, status=Partner.Status.BANNED, actor=staff_user)
    code, out = run_command("web_login_link", member.referral_code)
    assert code == 1 and "banned" in out
