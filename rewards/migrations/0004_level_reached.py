"""LevelReached: one row per (member, level) reached, so a level-up is announced exactly once
(issue 8, defect 8). No backfill: levels reached before this migration are never re-crossed by
an award or a fold (both announce only crossings from the XP they start from)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
        ("rewards", "0003_seed_tasks"),
    ]

    operations = [
        migrations.CreateModel(
            name="LevelReached",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("level", models.PositiveIntegerField()),
                ("reached_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "partner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="partners.partner"
                    ),
                ),
            ],
            options={"verbose_name_plural": "levels reached"},
        ),
        migrations.AddConstraint(
            model_name="levelreached",
            constraint=models.UniqueConstraint(fields=("partner", "level"), name="level_reached_once"),
        ),
    ]
