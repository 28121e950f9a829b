from rest_framework import serializers

from referrals.models import SHARE_EVENT_PLATFORMS, ShareEvent

_PLATFORM_NAMES = ", ".join(platform.value for platform in SHARE_EVENT_PLATFORMS)


class ShareEventCreateSerializer(serializers.Serializer):
    platform = serializers.ChoiceField(
        choices=[(platform.value, platform.label) for platform in SHARE_EVENT_PLATFORMS],
        error_messages={"invalid_choice": f'Unknown platform "{{input}}": use one of {_PLATFORM_NAMES}.'},
    )


class ShareEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShareEvent
        fields = ["id", "platform", "created_at"]


class LinksSerializer(serializers.Serializer):
    bot = serializers.CharField()
    mini_app = serializers.CharField()
    web = serializers.CharField()


class SharePlatformSerializer(serializers.Serializer):
    platform = serializers.CharField()
    label = serializers.CharField()
    link = serializers.CharField(help_text="The web link carrying this platform (its clicks count in its row).")
    text = serializers.CharField(help_text="The message the share URL carries.")
    url = serializers.CharField(help_text="The platform's share URL, text and link URL-encoded.")


class ShareTemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    platform = serializers.CharField(allow_null=True)
    tone = serializers.CharField()
    language = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField(help_text="Filled from the member's real figures; no variable left.")


class ShareKitSerializer(serializers.Serializer):
    referral_code = serializers.CharField()
    links = LinksSerializer()
    platforms = SharePlatformSerializer(many=True)
    templates = ShareTemplateSerializer(many=True)
    qr_link = serializers.CharField(help_text="The link the QR codes hold.")
    qr_svg_url = serializers.CharField()
    qr_png_url = serializers.CharField()


class FunnelRowSerializer(serializers.Serializer):
    platform = serializers.CharField()
    label = serializers.CharField()
    shares = serializers.IntegerField()
    clicks = serializers.IntegerField(
        help_text="Clean clicks: no bot user agent, no repeat from one IP within an hour."
    )
    clicks_total = serializers.IntegerField(help_text="Every recorded click.")
    signups = serializers.IntegerField()
    pro_purchases = serializers.IntegerField()
    pro_members = serializers.IntegerField()


class FunnelSerializer(serializers.Serializer):
    platforms = FunnelRowSerializer(many=True)
