from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referral engine"

    def ready(self) -> None:
        from partners.models import Partner
        from partners.signals import partner_authenticated
        from referrals import receivers

        partner_authenticated.connect(
            receivers.on_partner_authenticated, sender=Partner, dispatch_uid="referrals.sightings"
        )
