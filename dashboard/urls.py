"""Web sign-in and the member dashboard (API.md, "Web sign-in and pages")."""

from django.urls import path

from dashboard.views import (
    earnings,
    home,
    leaderboards,
    network,
    notifications,
    payouts,
    pro,
    settings,
    share,
    signin,
    tasks,
)

signin_urls = [
    path("login/", signin.login_page, name="web-login"),
    path("login/telegram/", signin.login_widget_callback, name="web-login-widget"),
    path("login/telegram/mini-app/", signin.mini_app_sign_in, name="web-mini-app-sign-in"),
    path("login/telegram/<str:token>/", signin.login_token, name="web-login-token"),
    path("app/", signin.mini_app_entry, name="web-mini-app"),
    path("logout/", signin.logout_view, name="web-logout"),
]

dashboard_urls = [
    path("", home.home, name="dashboard-home"),
    path("checkin/", home.checkin, name="dashboard-checkin"),
    path("network/", network.network, name="dashboard-network"),
    path("network/tree/", network.tree, name="dashboard-tree"),
    path("network/tree/<int:node_id>/", network.tree, name="dashboard-tree-node"),
    path("network/tree/<int:node_id>/children/", network.tree_children, name="dashboard-tree-children"),
    path("earnings/", earnings.earnings, name="dashboard-earnings"),
    path("tasks/", tasks.tasks, name="dashboard-tasks"),
    path("tasks/<slug:task_id>/start/", tasks.task_start_view, name="dashboard-task-start"),
    path("tasks/<slug:task_id>/claim/", tasks.task_claim_view, name="dashboard-task-claim"),
    path("leaderboard/", leaderboards.leaderboard, name="dashboard-leaderboard"),
    path("pro/", pro.pro, name="dashboard-pro"),
    path("pro/payments/", pro.payment_new, name="dashboard-payment-new"),
    path("pro/payments/<int:payment_id>/", pro.payment_detail, name="dashboard-payment"),
    path("pro/payments/<int:payment_id>/status/", pro.payment_status_view, name="dashboard-payment-status"),
    path("pro/payments/<int:payment_id>/check/", pro.payment_check, name="dashboard-payment-check"),
    path("payouts/", payouts.payouts, name="dashboard-payouts"),
    path("notifications/", notifications.notifications, name="dashboard-notifications"),
    path("notifications/read/", notifications.notifications_read, name="dashboard-notifications-read"),
    path("share/", share.share, name="dashboard-share"),
    path("share/<slug:platform>/", share.share_platform, name="dashboard-share-platform"),
    path("settings/", settings.settings_page, name="dashboard-settings"),
    path("settings/language/", settings.language_switch, name="dashboard-language"),
]
