"""Describes `Authorization: tma <initData>` in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TelegramInitDataScheme(OpenApiAuthenticationExtension):
    target_class = "partners.api.authentication.TelegramInitDataAuthentication"
    name = "TelegramInitData"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`tma <raw initData>` exactly as Telegram.WebApp.initData gives it.",
        }
