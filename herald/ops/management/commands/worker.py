"""``herald worker``: run background tasks (scheduled publications, deliveries).

Any number of workers may run, on any machines sharing the database; each task
is claimed by one of them. A worker started while the database is unreachable,
or that loses it, waits and retries (``herald.ops.worker``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.crypto import get_random_string


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
        from herald.ops.worker import Worker, die_with_supervisor

        die_with_supervisor()
        call_command("check", fail_level="ERROR")
        from herald.publishing.store.artifacts import start_warming

        start_warming()  # scheduled publications and imports run here
        if options["verbosity"] == 0:
            logging.getLogger("herald.worker").setLevel(logging.WARNING)
        worker = Worker(
            queue_names=["*"],
            interval=options["interval"],
            batch=options["batch"],
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        try:
            worker.run()
        finally:
            worker.reset_signals()
