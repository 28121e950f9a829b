"""A URLconf with views that fail, for the logging tests (`test_hygiene`); never routed in the app."""

from django.urls import include, path
from rest_framework.decorators import api_view, authentication_classes, permission_classes


class BoomError(RuntimeError):
    pass


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def api_boom(request):
    raise BoomError("boom from the API test view")


def page_boom(request):
    raise BoomError("boom from the page test view")


urlpatterns = [
    path("api/v1/boom/", api_boom),
    path("boom/", page_boom),
    path("", include("p2phub.urls")),
]
