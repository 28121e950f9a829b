from django.urls import path

from partners.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/network/", views.NetworkView.as_view(), name="me-network"),
    path("me/network/<int:level>/", views.NetworkLevelView.as_view(), name="me-network-level"),
]
