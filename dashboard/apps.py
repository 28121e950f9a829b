from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The member web dashboard (server-rendered pages under /dashboard/) and web sign-in
    (/login/..., /app/, /logout/). It composes the services and selectors of every other app,
    so it sits on top of them and nothing imports it."""

    name = "dashboard"
    verbose_name = "Member dashboard"
