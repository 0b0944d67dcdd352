"""The rate-limit counters move from the intake to core, where every limit can use them.

State only: the table keeps its name (``intake_throttle``) and its rows, so a limit
counted just before the upgrade still counts after it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_local_outbox_and_base_url"),
        ("intake", "0001_initial"),  # the table is created there
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Throttle",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("scope", models.CharField(max_length=16)),
                        ("key", models.CharField(help_text="SHA-256 of the address, never the address.", max_length=64)),
                        ("window_start", models.DateTimeField()),
                        ("count", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "intake_throttle",
                        "constraints": [models.UniqueConstraint(fields=("scope", "key", "window_start"), name="throttle_window_once")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
