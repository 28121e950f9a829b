# TON verification hardening (issue 8, defects 2 and 3): a `malformed` transfer status with a
# `detail` for staff, and the poller's persisted read cursor.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="TonPollCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account", models.CharField(max_length=128, unique=True)),
                ("next_lt", models.BigIntegerField()),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name="tontransfer",
            name="detail",
            field=models.CharField(blank=True, default="", max_length=255),
        ),
        migrations.AlterField(
            model_name="tontransfer",
            name="status",
            field=models.CharField(
                choices=[
                    ("matched", "Matched"),
                    ("underpaid", "Underpaid"),
                    ("late", "Late"),
                    ("bounced", "Bounced"),
                    ("unmatched", "Unmatched"),
                    ("duplicate_memo", "Duplicate Memo"),
                    ("malformed", "Malformed"),
                ],
                max_length=16,
            ),
        ),
    ]
