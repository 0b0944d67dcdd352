"""The worker's loop in this process: a task's own database error is its failure, not an outage."""

from __future__ import annotations

from unittest import mock

from django.db import connection, transaction
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from herald.core.worker import Worker
from herald.test import HeraldTestCase

RUNS: list[int] = []


@task()
def query_a_missing_table() -> None:
    RUNS.append(1)
    if len(RUNS) > 3:
        return  # the loop ran it again and again: let the test end and fail
    with transaction.atomic(), connection.cursor() as cursor:
        # SQLite says OperationalError, PostgreSQL ProgrammingError: a bug, not an outage.
        cursor.execute("SELECT * FROM herald_no_such_table")


def run_batch() -> None:
    worker = Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default",
        startup_delay=False, max_tasks=None, worker_id="test", excluded_queue_names=[],
    )  # fmt: skip
    # Inside the test's transaction, "old" connections must not be closed.
    with mock.patch("herald.core.worker.close_old_connections"):
        worker.run()


class WorkerLoopTests(HeraldTestCase):
    def test_a_task_whose_query_fails_is_failed_once_not_queued_again_as_an_outage(self) -> None:
        RUNS.clear()
        result = query_a_missing_table.enqueue()
        run_batch()
        row = DBTaskResult.objects.get(pk=result.id)
        assert RUNS == [1]
        assert row.status == TaskResultStatus.FAILED
