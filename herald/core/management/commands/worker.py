"""``herald worker``: run background tasks (scheduled publications, deliveries).

Any number of workers may run, on any machines sharing the database; each task
is claimed by one of them.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run a background worker. Several may run at once, on one machine or many."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between polls when the queue is empty (default 1).",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run what is due, then exit (for cron or tests)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("check", fail_level="ERROR")
        from herald.publishing.artifacts import start_warming

        start_warming()  # scheduled publications and imports run here
        from herald.backups.tasks import ensure_scheduled_backup

        ensure_scheduled_backup()  # when HERALD_BACKUP_DIR is set
        call_command(
            "db_worker",
            queue_name="*",
            interval=options["interval"],
            batch=options["batch"],
            reload=False,
            verbosity=options["verbosity"],
        )
