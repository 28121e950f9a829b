"""Prints a one-time web sign-in link for a member: the same link the bot's `/login` sends
(partners.login_tokens.web_login_token_issue: single use, WEB_LOGIN_TOKEN_MINUTES, audited).
For developers signing in to the local demo without Telegram, and for operators helping a
member who cannot reach the bot."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from partners.login_tokens import web_login_token_issue
from partners.models import Partner
from partners.services import normalize_referral_code


class Command(BaseCommand):
    help = "Print a one-time sign-in link (SITE_URL/login/telegram/<token>/) for a member."

    def add_arguments(self, parser):
        parser.add_argument("member", help="referral code (e.g. P2P-7F3A9C21), Telegram id or partner id (with --id)")
        parser.add_argument("--id", action="store_true", help="MEMBER is a partner id")
        parser.add_argument("--base-url", default="", help="server of the link (default: SITE_URL)")

    def handle(self, *args, member: str, id: bool, base_url: str, **options):
        partner = self._find(member.strip(), by_id=id)
        if partner is None:
            raise CommandError(f"No member {member!r} (give a referral code, a Telegram id, or a partner id with --id).")
        if not partner.is_active_member:
            raise CommandError(f"Member {partner.pk} is {partner.status}: they cannot sign in.")
        token = web_login_token_issue(partner=partner)
        url = (base_url or settings.SITE_URL).rstrip("/") + f"/login/telegram/{token}/"
        self.stdout.write(url)
        self.stderr.write(
            f"One-time link for {partner.display_name} ({partner.referral_code}), valid "
            f"{settings.WEB_LOGIN_TOKEN_MINUTES} minutes."
        )

    @staticmethod
    def _find(value: str, *, by_id: bool) -> Partner | None:
        if by_id:
            return Partner.objects.filter(pk=int(value)).first() if value.isdigit() else None
        if value.upper().startswith("P2P-"):
            return Partner.objects.filter(referral_code=normalize_referral_code(value)).first()
        if value.isdigit():
            return Partner.objects.filter(telegram_id=int(value)).first()
        return None
