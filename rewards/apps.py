from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from partners.profile import register_member_list_provider, register_profile_provider
        from rewards.selectors import xp_member_list_fields, xp_profile_fields

        register_profile_provider(xp_profile_fields)
        register_member_list_provider(xp_member_list_fields)

        from django.db.models.signals import post_save

        from partners.eligibility import register_eligibility_listener
        from partners.models import Partner
        from rewards.leaderboards.sync import on_partner_saved, sync_partner
        from rewards.services import streak_profile_fields

        register_profile_provider(streak_profile_fields)
        # Every service that changes status, fraud hold or visibility says so explicitly
        # (`partner_eligibility_changed`, after commit), also when it writes with `.update()`.
        register_eligibility_listener(sync_partner)
        # Safety net for direct save() outside the services (admin form, shell).
        post_save.connect(on_partner_saved, sender=Partner, dispatch_uid="rewards.leaderboard_partner_sync")

        from rewards.services import register_xp_ledger

        register_xp_ledger()
