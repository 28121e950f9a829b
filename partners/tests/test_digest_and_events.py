"""SPEC §9 events end to end: a signup under a 9-level chain (L1 and L2 messages, one hourly digest
for L3-L9), the staff chat for payments under review, payment approved, and English / Russian
texts with buttons for every kind."""

from datetime import timedelta

import pytest
from django.utils import timezone

from partners.digest import referral_digests_create
from partners.models import Delivery, Notification, Partner, StaffMessage
from partners.notifications import Kind, notification_telegram_message
from partners.tests.factories import PartnerFactory, make_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(settings):
    settings.TELEGRAM_SEND_ENABLED = False  # building the chain notifies its own upline...
    chain = make_chain(9)
    Notification.objects.update(delivery=Delivery.SKIPPED)  # ... which is not what is tested here
    return chain


def test_a_signup_under_a_9_chain_messages_l1_and_l2_once_and_l3_to_l9_in_one_digest(
    chain, fake_bot_api, committed
):
    fake_bot_api.sent.clear()
    bottom = chain[-1]
    with committed():
        PartnerFactory(referrer=bottom, first_name="Anna", last_name="")
    l1, l2, deep = chain[8], chain[7], chain[:7]
    assert len(fake_bot_api.messages_to(l1.telegram_id)) == 1
    assert len(fake_bot_api.messages_to(l2.telegram_id)) == 1
    assert all(fake_bot_api.messages_to(p.telegram_id) == [] for p in deep)

    # More signups within the hour: L1 / L2 hear about each, the deep levels about none yet.
    with committed():
        for name in ("Boris", "Vera", "Gleb"):
            PartnerFactory(referrer=bottom, first_name=name, last_name="")
    titles = [m["text"].split("\n")[0] for m in fake_bot_api.messages_to(l1.telegram_id)]
    assert titles == [
        "<b>New referral: Anna</b>", "<b>New referral: Boris</b>", "<b>Level 2 reached</b>",  # 105 XP
        "<b>New referral: Vera</b>", "<b>New referral: Gleb</b>",
    ]
    assert all(fake_bot_api.messages_to(p.telegram_id) == [] for p in deep)

    with committed():
        assert referral_digests_create() == 7
    for leader in deep:
        (digest,) = fake_bot_api.messages_to(leader.telegram_id)
        level = bottom.depth + 1 - leader.depth
        assert digest["text"].split("\n") == [
            "<b>4 new members in your network</b>",
            "Levels 3-9, since the last digest. You earned 4 XP:",
            f"Level {level}: Anna, Boris, Vera, Gleb",
        ]
        assert digest["reply_markup"]["inline_keyboard"][0][0]["text"] == "Open my team"
    rows = Notification.objects.filter(kind=Kind.REFERRAL_DEEP).exclude(delivery=Delivery.SKIPPED)
    assert rows.count() == 28 and set(rows.values_list("delivery", flat=True)) == {Delivery.DIGESTED}
    assert all(row.digest.kind == Kind.REFERRAL_DIGEST for row in rows.select_related("digest"))

    # The same hour again: nothing new to say, and no second message.
    with committed():
        assert referral_digests_create() == 0
    assert all(len(fake_bot_api.messages_to(p.telegram_id)) == 1 for p in deep)


def test_a_digest_goes_out_at_most_once_an_hour(chain, fake_bot_api, committed):
    fake_bot_api.sent.clear()
    now = timezone.now()
    with committed():
        PartnerFactory(referrer=chain[-1])
    with committed():
        assert referral_digests_create(now=now + timedelta(seconds=1)) == 7
    with committed():
        PartnerFactory(referrer=chain[-1])
    with committed():  # a second run within the same hour stores nothing; rows wait
        assert referral_digests_create(now=now + timedelta(seconds=2)) == 0
    top = chain[0]
    assert len(fake_bot_api.messages_to(top.telegram_id)) == 1
    with committed():
        assert referral_digests_create(now=now + timedelta(hours=1)) == 7
    assert len(fake_bot_api.messages_to(top.telegram_id)) == 2


def test_a_russian_leader_gets_a_russian_digest(fake_bot_api, committed, settings):
    settings.TELEGRAM_SEND_ENABLED = False
    chain = make_chain(3)
    Partner.objects.filter(pk=chain[0].pk).update(language=Partner.Language.RU)
    for name in ("A", "B", "C", "D", "E", "F", "G"):
        PartnerFactory(referrer=chain[-1], first_name=name, last_name="")
    settings.TELEGRAM_SEND_ENABLED = True
    with committed():
        referral_digests_create()
    (digest,) = fake_bot_api.messages_to(chain[0].telegram_id)
    assert digest["text"].split("\n") == [
        "<b>7 новых участников в вашей сети</b>",
        "Уровни 3–9, с прошлой сводки. Вы получили 7 XP:",
        "Уровень 3: A, B, C, D, E и ещё 2",
    ]


def test_a_payment_under_review_is_announced_in_the_staff_chat(fake_bot_api, settings, tma_client, committed):
    from payments.services import payment_create

    settings.TELEGRAM_STAFF_CHAT_ID = "-1001234567890"
    settings.USDT_WALLET_ADDRESS = "TStaffChatTestWallet0000000000000000"
    member = PartnerFactory(first_name="Pavel", last_name="")
    payment = payment_create(partner=member, method="USDT")
    with committed():
        response = tma_client(member).post(f"/api/v1/payments/{payment.pk}/check/", {"tx_hash": "ab" * 32}, format="json")
    assert response.status_code == 200
    (message,) = fake_bot_api.messages_to(-1001234567890)
    member.refresh_from_db()  # the Mini App request synced the name from Telegram
    assert message["text"].startswith(
        f"<b>Payment #{payment.pk} is waiting for review</b>\nMember: {member.display_name} ({member.referral_code})"
    )
    assert "Method: USDT" in message["text"] and "Reason: usdt_submitted" in message["text"]
    assert StaffMessage.objects.get().delivery == Delivery.SENT


def test_without_a_staff_chat_the_message_is_stored_and_skipped(fake_bot_api, settings, committed):
    from partners.notifications import staff_message_create

    settings.TELEGRAM_STAFF_CHAT_ID = ""
    with committed():
        message = staff_message_create(
            kind=StaffMessage.Kind.PAYMENT_UNDER_REVIEW,
            params={"payment_id": 1, "member": "M", "code": "C", "method": "TON", "amount": 1, "currency": "TON",
                    "reason": "late", "tx_hash": "-"},
            dedupe_key="review:1",
        )
    assert StaffMessage.objects.get(pk=message.pk).delivery == Delivery.SKIPPED
    assert fake_bot_api.requests() == []


def test_staff_approval_tells_the_member_their_payment_was_approved(fake_bot_api, settings, committed):
    from partners.tests.factories import UserFactory
    from payments.services import payment_approve, payment_create

    settings.USDT_WALLET_ADDRESS = "TStaffChatTestWallet0000000000000000"
    member = PartnerFactory()
    payment = payment_create(partner=member, method="USDT")
    from payments.models import Payment

    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.UNDER_REVIEW, tx_hash="cd" * 32)
    with committed():
        payment_approve(payment_id=payment.pk, actor=UserFactory(is_staff=True))
    titles = [m["text"].split("\n")[0] for m in fake_bot_api.messages_to(member.telegram_id)]
    assert titles == ["<b>Payment approved</b>", "<b>PRO activated</b>"]


SAMPLE = {
    "name": "Ivan", "xp": 35, "level": 3, "rank": "Novice", "badge": "7-day streak", "streak": 7, "amount": "12.50",
    "buyer": "Ivan", "available_on": "2026-12-31", "until": "2026-12-31 12:00", "task": "Join", "days": 3,
    "address": "UQ", "network": "TON", "tx_hash": "abc", "bot_link": "https://t.me/b?start=P2P-1",
    "app_link": "https://t.me/b/app?startapp=P2P-1", "web_link": "https://x/r/P2P-1", "count": 2, "details": "Level 3: A",
}


@pytest.mark.parametrize("kind", sorted(set(Kind.values) - {Kind.REFERRAL_DEEP}))  # sent only in digests
def test_every_kind_has_a_telegram_form_with_buttons_in_both_languages(kind, settings):
    settings.TELEGRAM_SEND_ENABLED = False
    forms = {}
    for language in ("en", "ru"):
        member = PartnerFactory(language=language)
        from partners.notifications import notification_create

        note = notification_create(partner=member, kind=kind, params=SAMPLE)
        text, markup = notification_telegram_message(note, partner=member)
        assert text.startswith("<b>") and "%(" not in text
        assert markup["inline_keyboard"], f"{kind} has no button"
        forms[language] = (text, [row[0]["text"] for row in markup["inline_keyboard"]])
    assert forms["en"][0] != forms["ru"][0] and forms["en"][1] != forms["ru"][1]
