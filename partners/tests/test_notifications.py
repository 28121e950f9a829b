"""The one notification home: typed kinds, texts in the member's language, stored in the
caller's transaction, delivery handed to Celery after commit."""

import pytest
from django.db import transaction

from partners import notifications
from partners.models import Notification, Partner
from partners.notifications import (
    Kind,
    NotificationDraft,
    notification_create,
    notification_text,
    notifications_create,
    notifications_mark_read,
)
from partners.services import partner_update_preferences
from partners.tests.factories import PartnerFactory

SAMPLE_PARAMS = {
    "name": "Ivan Petrov", "xp": 35, "level": 3, "rank": "Gold", "badge": "7-day streak", "streak": 7,
    "amount": "12.50", "buyer": "Ivan", "available_on": "2026-12-31", "until": "2026-12-31 12:00",
    "task": "Join the channel", "days": 3, "address": "UQ...", "network": "TON", "tx_hash": "abc",
    "bot_link": "https://t.me/bot?start=P2P-1", "app_link": "https://t.me/bot/app?startapp=P2P-1",
    "web_link": "https://x/r/P2P-1", "count": 4,
}


@pytest.mark.parametrize("kind", Kind.values)
def test_every_kind_has_an_english_and_a_russian_text(kind):
    en = notification_text(kind, SAMPLE_PARAMS, language="en")
    ru = notification_text(kind, SAMPLE_PARAMS, language="ru")
    assert all(en) and all(ru)
    assert en != ru
    assert "%(" not in "".join(en + ru)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        notification_text("something_free_form", {})


@pytest.mark.parametrize(("days", "title"), [(1, "PRO закончится через 1 день"), (3, "PRO закончится через 3 дня"), (5, "PRO закончится через 5 дней")])
def test_russian_plurals(days, title):
    assert notification_text(Kind.PRO_EXPIRING, {"days": days, "until": "x"}, language="ru")[0] == title


@pytest.mark.django_db
def test_texts_follow_the_member_language():
    member = PartnerFactory(language=Partner.Language.RU)
    english = PartnerFactory(language=Partner.Language.EN)
    ru = notification_create(partner_id=member.pk, kind=Kind.STREAK_AT_RISK, params={"streak": 4})
    en = notification_create(partner=english, kind=Kind.STREAK_AT_RISK, params={"streak": 4})
    assert ru.title == "Ваша серия под угрозой" and "4" in ru.body
    assert en.title == "Your streak is at risk" and en.body == "Check in today to keep your 4-day streak."
    assert ru.kind == Kind.STREAK_AT_RISK and ru.delivery == Notification.Delivery.PENDING


@pytest.mark.django_db
def test_staff_note_is_appended_to_the_body():
    member = PartnerFactory()
    note = notification_create(partner=member, kind=Kind.PAYMENT_REJECTED, params={"note": "Wrong network."})
    assert note.body == "We could not confirm your PRO payment. Wrong network."


@pytest.mark.django_db
def test_dedupe_key_stores_once():
    member = PartnerFactory()
    first = notification_create(partner=member, kind=Kind.LEVEL_UP, params={"level": 2, "rank": "Bronze"}, dedupe_key="k1")
    again = notification_create(partner=member, kind=Kind.LEVEL_UP, params={"level": 2, "rank": "Bronze"}, dedupe_key="k1")
    assert first is not None and again is None
    assert Notification.objects.filter(dedupe_key="k1").count() == 1


@pytest.mark.django_db
def test_batch_skips_stored_keys_and_keeps_the_rest():
    a, b = PartnerFactory(), PartnerFactory(language="ru")
    notification_create(partner=a, kind=Kind.PRO_EXPIRED, dedupe_key="exp:a")
    created = notifications_create(
        [
            NotificationDraft(partner_id=a.pk, kind=Kind.PRO_EXPIRED, dedupe_key="exp:a"),
            NotificationDraft(partner_id=b.pk, kind=Kind.PRO_EXPIRED, dedupe_key="exp:b"),
        ]
    )
    assert [n.partner_id for n in created] == [b.pk]
    assert created[0].pk is not None and created[0].title == "PRO закончился"


@pytest.mark.django_db
def test_a_rolled_back_transaction_stores_and_delivers_nothing(django_capture_on_commit_callbacks):
    member = PartnerFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                notification_create(partner=member, kind=Kind.PRO_EXPIRED)
                raise RuntimeError
    assert not Notification.objects.filter(partner=member).exists()
    assert callbacks == []


@pytest.mark.django_db
def test_delivery_is_queued_after_commit(django_capture_on_commit_callbacks, monkeypatch, settings):
    from partners import tasks

    queued = []
    monkeypatch.setattr(tasks.notification_deliver, "delay", lambda pk: queued.append(pk) or tasks.notification_deliver(pk))
    settings.TELEGRAM_SEND_ENABLED = False
    member = PartnerFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert queued == []  # nothing leaves before commit
    for callback in callbacks:
        callback()
    assert queued == [note.pk]
    note.refresh_from_db()
    assert note.delivery == Notification.Delivery.PENDING  # sending is switched off here


@pytest.mark.django_db
def test_delivery_with_sending_switched_off_leaves_pending(settings):
    from partners.tasks import notification_deliver

    settings.TELEGRAM_SEND_ENABLED = False
    note = notification_create(partner=PartnerFactory(), kind=Kind.PRO_EXPIRED)
    assert notification_deliver(note.pk) == Notification.Delivery.PENDING
    assert notification_deliver(10**9) is None  # gone: quietly nothing


@pytest.mark.django_db
def test_delivery_skips_members_who_turned_messages_off():
    from partners.tasks import notifications_deliver

    member = PartnerFactory()
    partner_update_preferences(partner=member, notifications_enabled=False)
    notes = notifications_create([NotificationDraft(partner_id=member.pk, kind=Kind.PRO_EXPIRED)])
    assert notifications_deliver([n.pk for n in notes]) == 1
    assert Notification.objects.get(pk=notes[0].pk).delivery == Notification.Delivery.SKIPPED


@pytest.mark.django_db
def test_mark_read_marks_only_the_member_unread_ones():
    member, other = PartnerFactory(), PartnerFactory()
    for _ in range(3):
        notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    notification_create(partner=other, kind=Kind.PRO_EXPIRED)
    assert notifications_mark_read(partner=member) == 3
    assert notifications_mark_read(partner=member) == 0
    assert Notification.objects.filter(partner=other, read_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_notifications_stored_as_history_are_listed_but_never_delivered(django_capture_on_commit_callbacks):
    from partners.notifications import notifications_as_history

    member = PartnerFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, notifications_as_history():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    # Nothing is queued for delivery (the member cache's token refresh may be: a read concern).
    assert [c for c in callbacks if getattr(c, "func", c) is notifications._enqueue_delivery] == []
    assert note.delivery == Notification.Delivery.SKIPPED
    assert list(Notification.objects.filter(partner=member)) == [note]
    after = notification_create(partner=member, kind=Kind.PRO_EXPIRED)  # outside: delivered as usual
    assert after.delivery == Notification.Delivery.PENDING


@pytest.mark.django_db
def test_a_signup_stores_its_referral_notifications_in_each_recipients_language():
    ru_sponsor = PartnerFactory(language="ru")
    en_leader = PartnerFactory(referrer=None, language="en")
    middle = PartnerFactory(referrer=en_leader, language="ru")
    PartnerFactory(referrer=ru_sponsor, first_name="Anna", last_name="K")
    PartnerFactory(referrer=middle, first_name="Oleg", last_name="P")

    assert Notification.objects.get(partner=ru_sponsor, kind=Kind.REFERRAL_L1).title == "Новый реферал: Anna K"
    assert Notification.objects.get(partner=middle, kind=Kind.REFERRAL_L1).title == "Новый реферал: Oleg P"
    assert Notification.objects.get(partner=en_leader, kind=Kind.REFERRAL_L2).title == "New level 2 referral: Oleg P"


@pytest.mark.django_db
def test_staff_messages_stored_as_history_are_never_posted(django_capture_on_commit_callbacks):
    from partners.models import Delivery, StaffMessage
    from partners.notifications import notifications_as_history, staff_message_create

    params = {"payment_id": 1, "member": "Ann", "code": "P2P-00000001", "method": "USDT", "amount": "39", "currency": "USDT", "reason": "r", "tx_hash": "t"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks, notifications_as_history():
        message = staff_message_create(kind=StaffMessage.Kind.PAYMENT_UNDER_REVIEW, params=params)
    assert callbacks == [] and message.delivery == Delivery.SKIPPED
