"""Background work of publishing, run by ``herald worker`` (or inside ``herald serve``).

- ``push_export``: after each publication, bring the static export
  (``HERALD_EXPORT_DIR``) up to date and run ``HERALD_PUBLISH_HOOK``, the
  command that pushes it to object storage or a CDN and purges the changed URLs.
  Publications in quick succession share one run: the export is incremental.
- ``refresh_security_txt``: once a day, so security.txt's Expires stays 90 days
  ahead (RFC 9116 §2.5.5) without anyone remembering; it schedules its next run.
- ``regenerate_all``: every artifact again, after a vendor profile edit.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import tempfile
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)


def _waiting(task_path: str) -> bool:
    """A run of ``task_path`` is queued and not started: enqueuing another adds nothing."""
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    if not backend.startswith("django_tasks_db."):
        return False
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=task_path, status=TaskResultStatus.READY).exists()


def _enqueue_once(task_obj: Any, *, run_after: dt.datetime | None = None) -> None:
    try:
        if not _waiting(task_obj.module_path):
            (task_obj.using(run_after=run_after) if run_after else task_obj).enqueue()
    except Exception:
        # Called after a commit: the change stands; say so instead of failing it.
        logger.exception("could not enqueue %s", task_obj.module_path)


# ---------------------------------------------------------------- export and push


def queue_publish_hook() -> None:
    if settings.HERALD_PUBLISH_HOOK:
        _enqueue_once(push_export)


@task()
def push_export() -> dict[str, Any]:
    """Update the static export, then run the publish hook with what changed."""
    from herald.publishing.store.siteexport import export_site

    directory = settings.HERALD_EXPORT_DIR
    result = export_site(directory)
    command = settings.HERALD_PUBLISH_HOOK
    if not command:
        return {"written": len(result.written), "removed": len(result.removed), "hook": None}
    returncode = run_hook(command, directory, result.changed)
    if returncode != 0:
        raise RuntimeError(f"HERALD_PUBLISH_HOOK exited with status {returncode}")
    return {"written": len(result.written), "removed": len(result.removed), "hook": returncode}


def run_hook(command: str, directory: os.PathLike[str] | str, changed: tuple[str, ...]) -> int:
    """Run ``command`` in a shell (it is the operator's, from the environment).

    It gets ``HERALD_EXPORT_DIR``, ``HERALD_CHANGED_FILE`` (a file with the URL
    path of each changed file, one a line, for the CDN purge), ``HERALD_CHANGED_COUNT``
    and ``HERALD_BASE_URL``.
    """
    from herald.core.models import VendorProfile

    with tempfile.NamedTemporaryFile("w", prefix="herald-changed-", suffix=".txt") as listing:
        listing.write("".join(f"/{path}\n" for path in changed))
        listing.flush()
        env = {
            **os.environ,
            "HERALD_EXPORT_DIR": str(directory),
            "HERALD_CHANGED_FILE": listing.name,
            "HERALD_CHANGED_COUNT": str(len(changed)),
            "HERALD_BASE_URL": VendorProfile.get().base_url,
        }
        done = subprocess.run(  # noqa: S603  (the operator's own configured command)
            ["/bin/sh", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=settings.HERALD_PUBLISH_HOOK_TIMEOUT,
            check=False,
        )
    log = logger.info if done.returncode == 0 else logger.error
    log("publish hook exited %s: %s%s", done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return done.returncode


# ---------------------------------------------------------------- security.txt


def next_refresh(now: dt.datetime | None = None) -> dt.datetime:
    """Just after the next UTC midnight, when the day (and Expires) moves on."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return midnight + dt.timedelta(seconds=30)


def ensure_daily_refresh() -> None:
    """Make sure the daily run is scheduled (``herald setup`` and ``herald serve`` call it)."""
    _enqueue_once(refresh_security_txt, run_after=next_refresh())


@task()
def refresh_security_txt() -> str:
    from django.db import transaction

    from herald.core.maintenance import refresh_planner_statistics
    from herald.publishing.store import serving
    from herald.publishing.store.artifacts import regenerate

    try:
        with transaction.atomic():
            result = regenerate()
        serving.sync_after_commit()
        # Once a day, as the tables grow: keeps the newest-first reads on their indexes.
        refresh_planner_statistics()
    finally:
        # Scheduled before returning, failure or not: the chain must not break.
        refresh_security_txt.using(run_after=next_refresh()).enqueue()
    return f"generation {result.generation}: {len(result.changed)} file(s) changed"


# ---------------------------------------------------------------- rebuild


def queue_regenerate_everything() -> None:
    _enqueue_once(regenerate_all)


@task()
def regenerate_all() -> str:
    from herald.publishing.store import serving
    from herald.publishing.store.artifacts import regenerate_everything

    result = regenerate_everything()
    serving.sync_after_commit()
    queue_publish_hook()
    return f"generation {result.generation}: {len(result.changed)} file(s) changed"
