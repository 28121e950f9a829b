from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        from partners.api import schema  # noqa: F401  registers the OpenAPI auth extension
