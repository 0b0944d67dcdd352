"""A publication scheduled before the upgrade still runs after it."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase

OLD = "herald.advisories.tasks.publish_scheduled"
NEW = "herald.publication.tasks.publish_scheduled"
MIGRATION = ("publication", "0001_scheduled_publications_follow_the_task")


class QueuedScheduleSurvivesTheMove(TransactionTestCase):
    def test_a_task_queued_under_the_old_path_points_at_the_new_one(self) -> None:
        from django_tasks_db.models import DBTaskResult

        from herald.publication.tasks import publish_scheduled

        MigrationExecutor(connection).migrate([("publication", None)])
        # Queued before the upgrade, under the path the task had then.
        row = DBTaskResult.objects.create(
            task_path=OLD,
            args_kwargs={"args": [1, "2026-12-07T00:00:00+00:00"], "kwargs": {}},
            queue_name="default",
            backend_name="default",
        )
        MigrationExecutor(connection).migrate([MIGRATION])
        row.refresh_from_db()
        assert row.task_path == NEW
        assert row.task.func is publish_scheduled.func
