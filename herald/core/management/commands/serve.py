"""``herald serve``: the web server (granian) and a background worker, in one command.

On the embedded default this is the whole desk. At scale, run ``herald serve
--no-worker`` on web machines and ``herald worker`` where the work should run.

Published artifacts are answered by the WSGI front (``herald.publishing.serving``)
from this machine's copy under ``HERALD_SITE_DIR``, which is brought up to date
here before the server starts and then by a poller in each web process.
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
    # One process per core: the front answers artifacts in Python under the GIL, so
    # processes, not threads, add throughput. Capped: each process holds Django.
    return max(1, min(8, os.cpu_count() or 1))


def _default_threads() -> int:
    # Threads overlap the desk's database waits; the artifact path never waits.
    return int(os.environ.get("HERALD_THREADS", "4"))


class Command(BaseCommand):
    help = "Serve the public pages, the desk and the API, with a background worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HERALD_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("HERALD_PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("HERALD_WORKERS", "0")) or _default_workers(),
            help="Web server processes (default: one per CPU, at most 8; HERALD_WORKERS).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=_default_threads(),
            help="Threads per process for requests (default 4; HERALD_THREADS).",
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
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads are at least 1.")
        from herald.core.actions import do_apply_base_url
        from herald.core.baseurl import served_url
        from herald.core.mail import where_mail_goes
        from herald.publishing import serving, tasks
        from herald.publishing.artifacts import regenerate_everything

        base = do_apply_base_url(served_url(options["host"], options["port"]))
        if base.changed:
            # The old address is inside every artifact: render them before serving.
            rendered = regenerate_everything()
            self.stdout.write(
                f"Public base URL is now {base.url}: "
                f"{len(rendered.changed)} public file(s) rendered again."
            )
        synced = serving.sync()
        if synced is not None and synced.written:
            self.stdout.write(f"Served copy of the site updated: {len(synced.written)} file(s).")
        tasks.ensure_daily_refresh()
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
        self.stdout.write(f"Public base URL: {base.url} ({base.source}).")
        self.stdout.write(f"Mail goes to {where_mail_goes()}.")
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
