from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from partners.profile import register_member_list_provider, register_profile_provider
        from rewards.selectors import xp_member_list_fields, xp_profile_fields

        register_profile_provider(xp_profile_fields)
        register_member_list_provider(xp_member_list_fields)
