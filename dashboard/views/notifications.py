"""Notifications: the in-app list (partners.selectors.notification_list) and "mark all read"
(partners.notifications.notifications_mark_read), as GET/POST /api/v1/me/notifications/."""

from django.contrib import messages
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import member_page
from dashboard.views.common import back, page, paginate
from partners.notifications import notifications_mark_read
from partners.selectors import notification_list


@require_GET
@member_page
def notifications(request):
    items = paginate(request, notification_list(viewer=request.partner))
    unread = any(n.read_at is None for n in items)
    return page(request, "dashboard/notifications.html", "notifications", {"items": items, "has_unread": unread})


@require_POST
@member_page
def notifications_read(request):
    count = notifications_mark_read(partner=request.partner)
    if count:
        messages.success(
            request, ngettext("%(count)s notification marked read.", "%(count)s notifications marked read.", count) % {"count": count}
        )
    else:
        messages.info(request, _("There were no unread notifications."))
    return back(request, "/dashboard/notifications/")
