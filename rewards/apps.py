from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from partners.profile import register_member_list_provider, register_profile_provider
        from rewards.selectors import xp_member_list_fields, xp_profile_fields

        register_profile_provider(xp_profile_fields)
        register_member_list_provider(xp_member_list_fields)

        from django.db.models.signals import post_save

        from partners.models import Partner
        from rewards.checkins import streak_profile_fields
        from rewards.leaderboards.sync import on_partner_saved

        register_profile_provider(streak_profile_fields)
        # Visibility / status / fraud-hold changes made through save() re-sync the Redis boards.
        post_save.connect(on_partner_saved, sender=Partner, dispatch_uid="rewards.leaderboard_partner_sync")

        from rewards.ledger import register_xp_ledger

        register_xp_ledger()
