"""Scheduled publications queued before the publish path moved keep running.

The worker finds a queued task by its dotted path. ``publish_scheduled`` moved from
``herald.advisories.tasks`` to ``herald.publication.tasks`` when publication became one
function above the record; a publication scheduled before the upgrade would
otherwise fail to import at the end of its embargo, and nobody would notice until
the advisory stayed private.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

OLD = "herald.advisories.tasks.publish_scheduled"
NEW = "herald.publication.tasks.publish_scheduled"


def forwards(apps: Any, schema_editor: Any) -> None:
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    results.objects.filter(task_path=OLD).update(task_path=NEW)


def backwards(apps: Any, schema_editor: Any) -> None:
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    results.objects.filter(task_path=NEW).update(task_path=OLD)


class Migration(migrations.Migration):
    dependencies = [("django_tasks_database", "0021_conditional_partial_index_ordering")]
    operations = [migrations.RunPython(forwards, backwards)]
