from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dashboard.urls import dashboard_urls, signin_urls
from p2phub import health, metrics
from p2phub.staff import api as staff_api
from p2phub.staff import views as staff_views
from partners import views as partner_views
from partners.bot.webhook import telegram_webhook
from partners.forms import StaffAdminAuthenticationForm, StaffAuthenticationForm
from partners.staff_login import staff_login_view
from referrals import views as referral_views

# Both staff sign-in pages are rate limited with a lockout (partners.staff_login).
admin.site.login_form = StaffAdminAuthenticationForm
# The admin index links to the staff dashboard (/staff/).
admin.site.index_template = "admin/p2phub_index.html"

api_v1 = [
    path("", include("partners.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("rewards.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("audit.api.urls")),
    path("staff/stats/", staff_api.StaffStatsView.as_view(), name="staff-stats"),
]

urlpatterns = [
    path("", partner_views.landing, name="landing"),
    # Before admin.site.urls so that this path (still reversed as "admin:login") wins.
    path("admin/login/", staff_login_view(admin.site.login)),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        staff_login_view(auth_views.LoginView.as_view(authentication_form=StaffAuthenticationForm)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]), name="schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[], authentication_classes=[]),
        name="api-docs",
    ),
    # Member web sign-in and dashboard (dashboard.urls).
    *signin_urls,
    path("dashboard/", include(dashboard_urls)),
    # Referral links (SPEC §10): any value after /r/ is looked at, an unknown one redirects.
    re_path(r"^r/(?P<code>[^/]*)/?$", referral_views.referral_link, name="referral-link"),
    path("join/", referral_views.landing, name="share-landing"),
    path("telegram/webhook/", telegram_webhook, name="telegram-webhook"),
    path("health/ping/", health.ping, name="health-ping"),
    path("health/", health.health, name="health"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("staff/", staff_views.dashboard, name="staff-dashboard"),
]
