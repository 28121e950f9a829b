"""The bot's commands (API.md, SPEC §1, §9): what each update changes, and the reply to send.

* `/start [code]` — a member: welcome back with their own links (bot, Mini App, web), a button
  that opens the Mini App and one that shares their link; their Telegram messages resume if
  they had blocked the bot. Someone not yet a member: `code` is kept as their pending referral
  (`pending_attribution_record`), used by their first sign-in through the one signup path, and
  the welcome names who invited them.
* `/login` — a one-time link into the web dashboard (`SITE_URL/login/telegram/<token>/`, single
  use, WEB_LOGIN_TOKEN_MINUTES, stored hashed: partners.login_tokens).
* `/stats` — XP, level, rank, streak, network size and USDT balances.
* `/help`, and a short help for anything else.
* `my_chat_member` updates: the member blocked the bot (`kicked`) → messages off; unblocked it
  (`member`) → messages on.

Replies are in the member's language, else the Telegram user's (`language_code`), else English.
Only private chats get replies: the bot stays silent in groups (e.g. the staff chat).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from partners.links import bot_link, mini_app_link, web_link
from partners.models import Partner
from partners.notifications import mini_app_button, share_button
from partners.selectors import partner_get_by_telegram_id
from partners.services import (
    normalize_referral_code,
    partner_find_by_code,
    partner_telegram_block,
    partner_telegram_unblock,
    pending_attribution_record,
    referral_code_is_valid,
)


@dataclass(frozen=True)
class BotReply:
    chat_id: int
    text: str
    reply_markup: dict | None = None


@dataclass(frozen=True)
class Sender:
    telegram_id: int
    first_name: str
    language: str
    member: Partner | None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _language(member: Partner | None, language_code) -> str:
    if member is not None and member.language in dict(settings.LANGUAGES):
        return member.language
    code = language_code if isinstance(language_code, str) else ""
    return "ru" if code.lower().startswith("ru") else "en"


def parse_command(text: str) -> tuple[str, str]:
    """("/start", "P2P-…") from "/start P2P-…" or "/start@P2PHubBot P2P-…"; ("", text) when the
    text is not a command."""
    text = text.strip()
    if not text.startswith("/"):
        return "", text
    head, _sep, rest = text.partition(" ")
    command, _at, bot = head.partition("@")
    if bot and bot.lower() != settings.TELEGRAM_BOT_USERNAME.lower():
        return "", text  # addressed to another bot
    return command.lower(), rest.strip()


def reply_for(update: dict) -> BotReply | None:
    """Apply one update and return the reply to send (None: nothing to say)."""
    if isinstance(update.get("my_chat_member"), dict):
        _chat_member_changed(update["my_chat_member"])
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    sender_data = message.get("from") if isinstance(message.get("from"), dict) else {}
    telegram_id = _int(sender_data.get("id"))
    chat_id = _int(chat.get("id"))
    if chat.get("type") != "private" or telegram_id is None or chat_id is None or sender_data.get("is_bot") is True:
        return None
    member = partner_get_by_telegram_id(telegram_id)
    sender = Sender(
        telegram_id=telegram_id,
        first_name=str(sender_data.get("first_name") or "")[:128],
        language=_language(member, sender_data.get("language_code")),
        member=member,
    )
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    command, argument = parse_command(text)
    handler = _COMMANDS.get(command, _unknown)
    with translation.override(sender.language):
        text, markup = handler(sender, argument)
    return BotReply(chat_id=chat_id, text=text[:4096], reply_markup=markup)


def _chat_member_changed(change: dict) -> None:
    chat = change.get("chat") if isinstance(change.get("chat"), dict) else {}
    new = change.get("new_chat_member") if isinstance(change.get("new_chat_member"), dict) else {}
    telegram_id = _int(chat.get("id"))
    if chat.get("type") != "private" or telegram_id is None:
        return
    member = partner_get_by_telegram_id(telegram_id)
    if member is None:
        return
    if new.get("status") == "kicked":
        partner_telegram_block(partner_id=member.pk, description="the member blocked the bot")
    elif new.get("status") == "member":
        partner_telegram_unblock(partner=member, source="unblocked")


def _keyboard(*buttons: dict) -> dict:
    return {"inline_keyboard": [[button] for button in buttons]}


def _links_text(code: str) -> str:
    return _("Bot: %(bot)s\nMini App: %(app)s\nWeb: %(web)s") % {
        "bot": escape(bot_link(code)),
        "app": escape(mini_app_link(code)),
        "web": escape(web_link(code)),
    }


def _start(sender: Sender, argument: str):
    member = sender.member
    if member is not None:
        partner_telegram_unblock(partner=member, source="start")
        text = "\n".join(
            [
                "<b>" + _("Welcome back, %(name)s!") % {"name": escape(member.first_name or member.display_name)} + "</b>",
                _("Your own links — everyone who joins through them joins your team:"),
                _links_text(member.referral_code),
                "",
                _("/login — a one-time link into the web dashboard\n/stats — your numbers\n/help — everything else"),
            ]
        )
        markup = _keyboard(
            mini_app_button(_("Open P2PHub")),
            share_button(_("Share my link"), referral_code=member.referral_code, language=sender.language),
        )
        return text, markup
    code = normalize_referral_code(argument.split("_", 1)[0]) if argument else ""
    inviter = partner_find_by_code(code) if referral_code_is_valid(code) else None
    if inviter is not None:
        pending_attribution_record(telegram_id=sender.telegram_id, referral_code=code)
        invitation = _("%(inviter)s invited you to their team. Open the app to join — one tap and you are in.") % {
            "inviter": escape(inviter.display_name)
        }
    else:
        invitation = _("A partner network where your team's growth earns you XP and USDT. Open the app to join.")
    text = "\n".join(["<b>" + _("Welcome to P2PHub!") + "</b>", invitation])
    return text, _keyboard(mini_app_button(_("Join P2PHub")))


def _not_a_member():
    return _("You are not a member yet. Open the app to join, then try again."), _keyboard(
        mini_app_button(_("Join P2PHub"))
    )


def _login(sender: Sender, argument: str):
    from partners.login_tokens import web_login_token_issue

    member = sender.member
    if member is None:
        return _not_a_member()
    if not member.is_active_member:
        return _("Your account is not active, so it cannot sign in."), None
    token = web_login_token_issue(partner=member)
    link = f"{settings.SITE_URL}/login/telegram/{token}/"
    text = "\n".join(
        [
            "<b>" + _("Your sign-in link") + "</b>",
            escape(link),
            _("It works once, within %(minutes)s minutes. Do not share it: it signs in as you.")
            % {"minutes": settings.WEB_LOGIN_TOKEN_MINUTES},
        ]
    )
    # Telegram refuses url buttons to plain-http or local addresses; the link is in the text.
    markup = _keyboard({"text": _("Open the dashboard"), "url": link}) if link.startswith("https://") else None
    return text, markup


def _stats(sender: Sender, argument: str):
    from partners.profile import profile_fields

    member = sender.member
    if member is None:
        return _not_a_member()
    fields = profile_fields(member)
    network = fields["network"]
    lines = [
        "<b>" + _("Your P2PHub stats") + "</b>",
        _("XP: %(xp)s · level %(level)s (%(rank)s)")
        % {"xp": fields.get("xp", 0), "level": fields.get("xp_level", 1), "rank": escape(str(fields.get("rank", "")))},
        _("Check-in streak: %(streak)s") % {"streak": fields.get("checkin_streak", 0)},
        _("Network: %(size)s members, %(direct)s direct")
        % {"size": network["network_size"], "direct": network["direct_referrals"]},
        _("USDT: %(available)s available · %(balance)s balance · %(earned)s earned in total")
        % {
            "available": _usdt(fields.get("usdt_available")),
            "balance": _usdt(fields.get("usdt_balance")),
            "earned": _usdt(fields.get("total_earned_usdt")),
        },
    ]
    from django.utils import timezone

    if member.pro_active_at(timezone.now()):
        lines.append(_("PRO: active until %(until)s UTC") % {"until": f"{member.pro_expires_at:%Y-%m-%d}"})
    else:
        lines.append(_("PRO: not active"))
    return "\n".join(lines), _keyboard(mini_app_button(_("Open P2PHub")))


def _usdt(value) -> str:
    try:
        return f"{Decimal(str(value or 0)):.2f}"
    except ArithmeticError:
        return "0.00"


def _help_text() -> str:
    return "\n".join(
        [
            "<b>" + _("P2PHub bot") + "</b>",
            _("/start — your links and the app"),
            _("/login — a one-time link into the web dashboard"),
            _("/stats — XP, level, rank, network and balances"),
            _("/help — this list"),
        ]
    )


def _help(sender: Sender, argument: str):
    return _help_text(), _keyboard(mini_app_button(_("Open P2PHub")))


def _unknown(sender: Sender, argument: str):
    return _("I do not know that one. Send /help to see what I can do."), None


_COMMANDS = {"/start": _start, "/login": _login, "/stats": _stats, "/help": _help}
