"""The worker's loop in this process: a task's own database error is its failure, not an outage."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import TransactionTestCase
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from conftest import require_service
from herald.ops.worker import Worker
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


def run_batch(*, patch: bool = True) -> None:
    worker = Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default",
        startup_delay=False, max_tasks=None, worker_id="test", excluded_queue_names=[],
    )  # fmt: skip
    if not patch:
        worker.run()
        return
    # Inside the test's transaction, "old" connections must not be closed.
    with mock.patch("herald.ops.worker.close_old_connections"):
        worker.run()


class WorkerLoopTests(HeraldTestCase):
    def test_a_task_whose_query_fails_is_failed_once_not_queued_again_as_an_outage(self) -> None:
        RUNS.clear()
        result = query_a_missing_table.enqueue()
        run_batch()
        row = DBTaskResult.objects.get(pk=result.id)
        assert RUNS == [1]
        assert row.status == TaskResultStatus.FAILED


CUT_RUNS: list[int] = []


@task()
def lose_the_connection_once() -> str:
    """First run: PostgreSQL ends this session (as in a restart), then the task queries."""
    CUT_RUNS.append(1)
    if len(CUT_RUNS) == 1:
        import psycopg

        pid = connection.cursor().connection.info.backend_pid
        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
            user=settings["USER"], dbname=settings["NAME"], autocommit=True,
        ) as admin:  # fmt: skip
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        connection.cursor().execute("SELECT 1")
    return "done"


@pytest.mark.postgres_only
class WorkerOutageMidTaskTests(TransactionTestCase):
    def test_a_task_cut_off_by_an_outage_is_queued_again_and_completes(self) -> None:
        require_service("postgres")
        CUT_RUNS.clear()
        result = lose_the_connection_once.enqueue()
        with self.assertLogs("herald.worker", "INFO") as logs:
            run_batch(patch=False)
        row = DBTaskResult.objects.get(pk=result.id)
        assert (len(CUT_RUNS), row.status) == (2, TaskResultStatus.SUCCESSFUL)
        said = "\n".join(logs.output)
        assert "database unreachable" in said and "cut off by the outage" in said
