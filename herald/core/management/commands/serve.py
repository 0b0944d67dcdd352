"""``herald serve``: the web server (granian) and a background worker, in one command.

On the embedded default this is the whole desk. At scale, run ``herald serve
--no-worker`` on web machines and ``herald worker`` where the work should run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class Command(BaseCommand):
    help = "Serve the public pages, the desk and the API, with a background worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HERALD_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("HERALD_PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=_default_workers(),
            help="Web server processes (default: CPU count, at most 4).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=2,
            help="Threads per process for requests (default 2).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start the background worker (run `herald worker` elsewhere).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from granian.constants import Interfaces
        from granian.server import Server

        call_command("check", fail_level="ERROR")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not up to date: run `herald setup` first.")
        connection.close()

        worker: subprocess.Popen[bytes] | None = None
        if not options["no_worker"]:
            worker = subprocess.Popen(
                [sys.executable, "-m", "herald.cli", "worker"], env=os.environ.copy()
            )
        self.stdout.write(
            f"Herald on http://{options['host']}:{options['port']}/ "
            f"({options['workers']} process(es) x {options['threads']} threads"
            + (", worker running" if worker else "")
            + "). Ctrl-C stops it."
        )
        try:
            Server(
                "herald.wsgi:application",
                address=options["host"],
                port=options["port"],
                interface=Interfaces.WSGI,
                workers=options["workers"],
                blocking_threads=options["threads"],
                respawn_failed_workers=True,
            ).serve()
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
