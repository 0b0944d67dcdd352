"""Each report keeps the credit name and handle its own sender gave.

Existing reports keep crediting what they credited before: the reporter's
stored name and handle are copied onto them.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_reporter(apps: Any, schema_editor: Any) -> None:
    Report = apps.get_model("intake", "Report")
    Reporter = apps.get_model("intake", "Reporter")
    reporter = Reporter.objects.filter(pk=OuterRef("reporter_id"))
    Report.objects.update(
        credit_name=Subquery(reporter.values("name")[:1]),
        credit_handle=Subquery(reporter.values("handle")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0005_github_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="credit_handle",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="report",
            name="credit_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(copy_from_reporter, migrations.RunPython.noop),
    ]
