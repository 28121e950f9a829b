"""Factories build partners through the real join service, so the tree stays valid."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from partners.models import Partner
from partners.services import SignupContext, partner_join


class PartnerFactory(factory.Factory):
    class Meta:
        model = Partner

    telegram_id = factory.Sequence(lambda n: 7_000_000_000 + n)
    username = factory.Sequence(lambda n: f"member{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    referrer = None
    pro = False

    @classmethod
    def _create(cls, model_class, *args, referrer=None, pro=False, **kwargs):
        partner = partner_join(referrer=referrer, signup=SignupContext(channel="seed"), **kwargs).partner
        if pro:
            make_pro(partner)
        return partner

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError("Partners exist only inside the tree: use PartnerFactory.create(), not build()")


def make_pro(partner: Partner, *, days: int = 30) -> Partner:
    expires = timezone.now() + timedelta(days=days)
    Partner.objects.filter(pk=partner.pk).update(is_pro=True, pro_expires_at=expires)
    partner.is_pro, partner.pro_expires_at = True, expires
    return partner


def make_chain(length: int, *, pro: bool = False, top: Partner | None = None) -> list[Partner]:
    """A straight referral chain; index 0 is the top, the last one the newest member."""
    chain: list[Partner] = []
    referrer = top
    for _ in range(length):
        referrer = PartnerFactory(referrer=referrer, pro=pro)
        chain.append(referrer)
    return chain


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")
