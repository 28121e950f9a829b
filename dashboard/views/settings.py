"""Settings: language, notifications, leaderboard visibility; saved through the same service
as PATCH /api/v1/me/ (partner_update_preferences). Also the header's language switch."""

from django.contrib import messages
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.access import SESSION_LANGUAGE_KEY, activate_language, member_page
from dashboard.forms import LanguageForm, PreferencesForm
from dashboard.views.common import back, page
from partners.services import partner_update_preferences


def _saved_language(request, language: str) -> None:
    request.session.pop(SESSION_LANGUAGE_KEY, None)  # the member's own language rules again
    activate_language(request, language)


@require_http_methods(["GET", "POST"])
@member_page
def settings_page(request):
    partner = request.partner
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            partner_update_preferences(partner=partner, **form.cleaned_data)
            _saved_language(request, partner.language)
            messages.success(request, _("Settings saved."))
            return back(request, "/dashboard/settings/")
        messages.error(request, _("Please correct the errors below."))
        status = 400
    else:
        form = PreferencesForm(
            initial={
                "language": request.LANGUAGE_CODE,
                "notifications_enabled": partner.notifications_enabled,
                "leaderboard_visibility": partner.leaderboard_visibility,
            }
        )
        status = 200
    return page(request, "dashboard/settings.html", "settings", {"form": form}, status=status)


@require_POST
@member_page
def language_switch(request):
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose English or Russian."))
        return back(request, "/dashboard/")
    partner_update_preferences(partner=request.partner, language=form.cleaned_data["language"])
    _saved_language(request, form.cleaned_data["language"])
    messages.success(request, _("Language changed."))
    return back(request, "/dashboard/")
