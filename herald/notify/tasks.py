"""The delivery loop as a django-tasks task, run by ``herald worker`` like any other task.

``deliver_due`` drains due deliveries for a bounded time, then schedules its
own next run for when the next delivery (or retry, or lease) comes due. It is a
task rather than a loop of its own inside ``herald worker`` so that it needs no
second process model: every worker already polls the task table, several
workers share the drain through the delivery claims, and a drain that ends
lets other tasks (scheduled publications) run between two drains.

Before draining, a run schedules a successor for when its leases end: if the
worker is killed mid-drain, that successor (picked up by any worker) takes
over the rows the dead one had claimed. ``kick`` enqueues a run after the commit
of anything that writes deliveries; it skips enqueuing when a run is already
waiting, so the number of queued runs stays at one or two.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from herald.notify import conf, delivery

logger = logging.getLogger(__name__)
TASK_PATH = "herald.notify.tasks.deliver_due"


def _uses_database_backend() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_db.")


def schedule(at: datetime | None = None) -> None:
    """Make sure a drain runs at ``at`` (now by default) or earlier."""
    at = at or timezone.now()
    if _uses_database_backend():
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        waiting = DBTaskResult.objects.filter(
            task_path=TASK_PATH, status=TaskResultStatus.READY, run_after__lte=at
        )
        if waiting.exists():
            return
    deliver_due.using(run_after=at).enqueue()


def kick() -> None:
    """Called after a commit that wrote deliveries: get them sent soon."""
    try:
        schedule()
    except Exception:
        # The rows are written; a later drain (or `herald deliveries run`) sends
        # them. Failing to enqueue must not turn a committed action into an error.
        logger.exception("could not enqueue the delivery task")


@task()
def deliver_due() -> dict[str, int]:
    now = timezone.now()
    due = delivery.next_due_at()
    if due is None:
        return {"sent": 0, "failed": 0, "dead": 0, "lost": 0}
    if due > now:
        schedule(due)
        return {"sent": 0, "failed": 0, "dead": 0, "lost": 0}
    # The watchdog: should this process die, a successor takes over after the leases.
    schedule(now + timedelta(seconds=conf.lease_seconds() + 1))
    if delivery.backlog_exceeds(conf.batch_size() * conf.sessions()):
        # More than this worker takes at once: queue a helper run, which an idle
        # worker picks up (and which queues the next helper while work remains).
        schedule(now)
    stats = delivery.drain()
    following = delivery.next_due_at()
    if following is not None:
        schedule(max(following, timezone.now()))
    logger.info("deliveries: %s", stats)
    return stats
