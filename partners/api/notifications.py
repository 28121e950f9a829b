"""`/api/v1/me/notifications/`: the member's in-app notifications (API.md), as a viewset."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from p2phub.api.pagination import NewestFirstCursorPagination
from partners.api.serializers import NotificationSerializer, NotificationsReadSerializer
from partners.notifications import notifications_mark_read
from partners.selectors import notification_list


class NotificationPagination(NewestFirstCursorPagination):
    page_size = 20
    max_page_size = 100


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET list (newest first, cursor-paginated); POST read/ marks every unread one read."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination

    def get_queryset(self):
        return notification_list(viewer=self.request.partner)

    @extend_schema(request=None, responses=NotificationsReadSerializer)
    @action(detail=False, methods=["post"], url_path="read")
    def read(self, request):
        marked = notifications_mark_read(partner=request.partner)
        return Response(NotificationsReadSerializer({"marked_read": marked}).data)
