"""The task loop of ``herald worker``: django-tasks-db's worker, made to outlive the database.

django-tasks-db's loop raises on the first database error it meets, so a few
seconds of PostgreSQL restart ended the worker: campaigns stayed pending and
scheduled publications never ran. Here a database error, wherever it comes from
(claiming, a task, recording a result), puts the loop into a wait: one log line
when the outage starts, a retry with a growing delay (capped), one line when the
database answers again. Then the task that was cut off goes back to the queue
(its transaction was rolled back with the connection) and the delivery drain is
scheduled again, since the drain schedules its own next run and an outage can
break that chain.

A thread beside the loop touches the worker's ``WorkerHeartbeat`` row every
``HEARTBEAT_SECONDS``, also while a long task runs (a campaign's drain, a full
rebuild); ``/readyz``, ``herald status`` and ``/metrics`` read it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker as DBWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from herald.core.models import WorkerHeartbeat

logger = logging.getLogger("herald.worker")

DATABASE_ERRORS = (OperationalError, InterfaceError)
HEARTBEAT_SECONDS = 5.0
FIRST_RETRY = 0.5  # seconds before the first reconnection attempt
LONGEST_RETRY = 30.0  # the delay doubles up to this


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (not merely SQLite's lock)."""
    return isinstance(exc, DATABASE_ERRORS) and not (
        isinstance(exc, OperationalError) and is_locked_database_exception(exc)
    )


def connection_lost() -> bool:
    """Whether the task table's connection is gone (an outage, not a task's bad query)."""
    connection = connections[DBTaskResult.objects.db]
    if connection.connection is None:
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Worker(DBWorker):
    """django-tasks-db's worker with outage handling and a heartbeat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hostname = socket.gethostname()[:255]
        self.started_at = timezone.now()
        self.interrupted: DBTaskResult | None = None  # the task an outage cut off
        self.complained_at = 0.0
        self.longest_retry = float(getattr(settings, "HERALD_WORKER_RETRY_MAX", LONGEST_RETRY))

    def run(self) -> None:
        logger.info("worker %s started (pid %d)", self.worker_id, os.getpid())
        if self.batch:  # a run of what is due (cron, tests) is no running worker
            self.loop()
            return
        heartbeat = Heartbeat(self.worker_id, self.hostname, self.started_at)
        heartbeat.start()
        try:
            self.loop()
        finally:
            heartbeat.stop()

    def loop(self) -> None:
        while self.running:
            try:
                ran = self.run_one()
            except DATABASE_ERRORS as exc:
                if database_unreachable(exc) and connection_lost():
                    self.wait_for_database(exc)
                    continue
                # SQLite busy, or a database that answers but refuses (not migrated
                # yet): the next round tries again; said at most once a minute.
                ran = False
                self.complain(exc)
            if ran is None:
                return  # batch mode, nothing left
            close_old_connections()
            if self.running and not ran:
                time.sleep(self.interval)

    def complain(self, exc: BaseException) -> None:
        locked = isinstance(exc, OperationalError) and is_locked_database_exception(exc)
        if locked or time.monotonic() - self.complained_at < 60:
            return
        self.complained_at = time.monotonic()
        logger.warning("the database refused the task queue's query: %s", first_line(exc))

    def run_one(self) -> bool | None:
        """Claim and run one ready task: True if one ran, False if none was ready,
        None when running in batch mode and the queue is empty."""
        close_old_connections()
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(self.worker_id)
        if task_result is None:
            if self.batch:
                logger.info("no more tasks for worker %s; exiting", self.worker_id)
                return None
            return False
        self.interrupted = task_result
        self.run_task(task_result)
        self.interrupted = None
        return True

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """As django-tasks-db's, except that a database outage is not the task's failure:
        it propagates to ``run``, which waits and then puts the task back."""
        from django_tasks_db.compat import TaskContext, task_finished, task_started

        try:
            self.running_task = True
            task = db_task_result.task
            task_result = db_task_result.task_result
            backend_type = task.get_backend()
            task_started.send(sender=backend_type, task_result=task_result)
            if task.takes_context:
                value = task.call(
                    TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs
                )
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
            db_task_result.set_successful(value)
            task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except DATABASE_ERRORS as exc:
            if database_unreachable(exc) and connection_lost():
                raise
            # The database answers: the task's own error (SQLite reports a missing
            # table as OperationalError too), which queuing it again would repeat.
            self._failed(db_task_result, exc)
        except BaseException as exc:
            self._failed(db_task_result, exc)
        finally:
            self.running_task = False
            self._run_tasks += 1

    def _failed(self, db_task_result: DBTaskResult, exc: BaseException) -> None:
        from django_tasks_db.compat import task_finished

        db_task_result.set_failed(exc)
        task_finished.send(
            sender=type(db_task_result.task.get_backend()), task_result=db_task_result.task_result
        )

    def wait_for_database(self, exc: BaseException) -> None:
        """Log the outage once, retry with backoff until the database answers, log the end."""
        started = time.monotonic()
        logger.warning(
            "database unreachable (%s); tasks wait, retrying with backoff up to %g s",
            first_line(exc),
            self.longest_retry,
        )
        delay = min(FIRST_RETRY, self.longest_retry)
        attempts = 0
        while self.running:
            _close_all()
            time.sleep(delay)
            attempts += 1
            try:
                self.recover()
            except DATABASE_ERRORS:
                delay = min(delay * 2, self.longest_retry)
                continue
            logger.warning(
                "database reachable again after %.1f s (%d attempt(s)); worker resumes",
                time.monotonic() - started,
                attempts,
            )
            return

    def recover(self) -> None:
        """After an outage: the cut-off task back in the queue, the delivery drain due."""
        from herald.notify import tasks as notify_tasks

        connection = connections[DBTaskResult.objects.db]
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if self.interrupted is not None:
            DBTaskResult.objects.filter(
                pk=self.interrupted.pk, status=TaskResultStatus.RUNNING
            ).update(status=TaskResultStatus.READY)
            logger.info("task %s was cut off by the outage: queued again", self.interrupted.pk)
            self.interrupted = None
        notify_tasks.schedule()


class Heartbeat(threading.Thread):
    """Touches the worker's ``WorkerHeartbeat`` row every ``HEARTBEAT_SECONDS``."""

    def __init__(self, worker_id: str, hostname: str, started_at: Any) -> None:
        super().__init__(name="herald-worker-heartbeat", daemon=True)
        self.worker_id = worker_id
        self.hostname = hostname
        self.started_at = started_at
        self.stopped = threading.Event()

    def run(self) -> None:
        # Workers gone for a day: no one will read their rows again. (When the database
        # is unreachable the loop says so.)
        with contextlib.suppress(*DATABASE_ERRORS):
            WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - timedelta(days=1)).delete()
        while not self.stopped.is_set():
            try:
                close_old_connections()  # a connection broken by an outage is replaced
                self.beat()
            except DATABASE_ERRORS:
                _close_all()  # the loop logs the outage; beat again once it is over
            except Exception:
                # Never end the heartbeat: a silent worker would look dead to /readyz.
                logger.exception("could not write the worker's heartbeat")
                _close_all()
            self.stopped.wait(HEARTBEAT_SECONDS)
        # A worker that stops cleanly says so at once rather than going stale.
        with contextlib.suppress(*DATABASE_ERRORS):
            close_old_connections()
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        _close_all()

    def beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": self.hostname,
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": timezone.now(),
            },
        )

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=HEARTBEAT_SECONDS)


def _close_all() -> None:
    """Drop every connection of this thread: after an outage they are broken."""
    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except DATABASE_ERRORS:
            # Closing a dead connection can fail; forget it so the next query reconnects.
            connection.connection = None


def die_with_supervisor() -> None:
    """Under ``herald serve`` (``HERALD_SUPERVISOR`` names its pid): stop when it dies,
    even by SIGKILL, rather than run on unsupervised (Linux's PR_SET_PDEATHSIG)."""
    supervisor = settings.HERALD_ENV.get("HERALD_SUPERVISOR")
    if not supervisor:
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if str(os.getppid()) != supervisor:  # it died before the prctl took effect
        raise SystemExit(0)
