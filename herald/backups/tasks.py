"""The worker's scheduled backup: an archive every ``HERALD_BACKUP_HOURS`` in ``HERALD_BACKUP_DIR``.

Off unless ``HERALD_BACKUP_DIR`` is set. Each run writes
``herald-YYYYMMDDTHHMMSSffffffZ.tar.gz`` (``.pgp`` when ``HERALD_BACKUP_ENCRYPT_TO``
names a public key), keeps the newest ``HERALD_BACKUP_KEEP``, and schedules the
next run, failure or not, like the daily security.txt refresh.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from herald.backups.archive import create_backup
from herald.publishing.tasks import _enqueue_once

logger = logging.getLogger(__name__)

PATTERN = "herald-*.tar.gz*"


def next_backup(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) + dt.timedelta(hours=settings.HERALD_BACKUP_HOURS)


def ensure_scheduled_backup() -> None:
    """Schedule the next backup when backups are on (``herald setup``, ``serve``, ``worker``)."""
    if settings.HERALD_BACKUP_DIR:
        _enqueue_once(scheduled_backup, run_after=next_backup())


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` archives this task wrote; the removed ones."""
    archives = sorted(directory.glob(PATTERN), key=lambda p: p.name, reverse=True)
    removed = archives[max(keep, 1) :]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


@task()
def scheduled_backup() -> str:
    try:
        directory = Path(settings.HERALD_BACKUP_DIR)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        encrypt_to = settings.HERALD_BACKUP_ENCRYPT_TO
        name = f"herald-{timezone.now():%Y%m%dT%H%M%S%fZ}.tar.gz" + (".pgp" if encrypt_to else "")
        result = create_backup(
            directory / name, encrypt_to=Path(encrypt_to) if encrypt_to else None
        )
        removed = prune(directory, settings.HERALD_BACKUP_KEEP)
        logger.info("backup written: %s (%s bytes)", result.path, result.size)
        return f"{result.path}: {result.size} bytes; {len(removed)} old backup(s) removed"
    finally:
        # Scheduled before returning, failure or not: backups must not silently stop.
        _enqueue_once(scheduled_backup, run_after=next_backup())
