from django.apps import AppConfig


class StaffConfig(AppConfig):
    """The staff area: analytics (/staff/, /api/v1/staff/stats/) and the admin additions that
    need several apps at once (partner overview, USDT corrections, audit rows with names). No
    models. Listed after the domain apps, so its admin.py runs after theirs."""

    name = "p2phub.staff"
    label = "staff"
    verbose_name = "Staff"
