"""The rate-limit counters now belong to core (``core.0004``); the table stays."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0003_drop_reporter_mail_queue"),
        ("core", "0004_throttle_moves_to_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Throttle")],
            database_operations=[],
        ),
    ]
