"""``herald serve``: the web server (granian) and a background worker, in one command.

On the embedded default this is the whole desk. At scale, run ``herald serve
--no-worker`` on web machines and ``herald worker`` where the work should run.

Published artifacts are answered by the WSGI front (``herald.publishing.store.serving``)
from this machine's copy under ``HERALD_SITE_DIR``, which is brought up to date
here before the server starts and then by a poller in each web process.

The worker is a child process, supervised: when it ends for any reason it is
started again after a delay that doubles (1 s up to a minute) while it keeps
failing quickly, and each restart is logged. A second ``herald serve`` on a port
already served refuses to start (the web server shares ports between its own
processes, which would otherwise split the traffic between two servers).

SIGINT or SIGTERM sent to this process alone (a service manager, ``kill``) stops
every child within seconds, at any moment: during start-up (see
``stop_on_signals``), and while serving, where a web process that still holds a
request is killed after ``WEB_STOP_GRACE`` seconds.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger("herald.serve")

# A web process still answering (or reading a client's half-sent request, which
# the web server would wait 30 s for) this long after the stop is killed.
WEB_STOP_GRACE = 3


def stop_on_signals() -> None:
    """Stop on SIGINT and SIGTERM from now on, whatever this process inherited.

    A shell starts a background job (``make run &``) with SIGINT ignored, and the
    web server only listens for it once it serves: without this, a SIGINT sent
    while the desk starts is lost and the whole desk runs on. SIGTERM's default
    would end this process at once, without stopping the worker it started.
    """

    def stop(signum: int, frame: object) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def claim_port(host: str, port: int) -> int:
    """Refuse a port something already listens on; hold a lock on it for this server.

    The probe binds without SO_REUSEPORT, so it fails on a port another server
    holds even with that option (as granian sets it); the lock catches two
    ``herald serve`` started at the same moment. Returns the lock's descriptor.
    """
    name = re.sub(r"[^A-Za-z0-9.]", "_", f"{host}-{port}")
    fd = os.open(
        os.path.join(tempfile.gettempdir(), f"herald-serve-{name}.lock"), os.O_RDWR | os.O_CREAT
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CommandError(
            f"Port {port} on {host} is already served by another `herald serve`: "
            "stop it, or choose another port with --port."
        ) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {host} is already in use by another program: "
                    "stop it, or choose another port with --port."
                ) from None
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    return fd


class WorkerSupervisor(threading.Thread):
    """Runs ``herald worker`` as a child and starts it again whenever it ends."""

    FIRST_DELAY = 1.0
    LONGEST_DELAY = 60.0
    HEALTHY_AFTER = 60.0  # a run this long resets the delay

    def __init__(self, command: list[str]) -> None:
        super().__init__(name="herald-worker-supervisor", daemon=True)
        self.command = command
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.spawned = threading.Event()  # the first worker has been started

    def run(self) -> None:
        delay = self.FIRST_DELAY
        while not self.stopping.is_set():
            started = time.monotonic()
            with self.lock:
                if self.stopping.is_set():
                    return
                # Its own session: a Ctrl-C in the terminal reaches the server, which
                # stops the worker itself (else the worker would end first and be
                # restarted during the shutdown). It dies with this server
                # (HERALD_SUPERVISOR, see herald.ops.worker.die_with_supervisor).
                self.child = subprocess.Popen(  # noqa: S603
                    self.command,
                    env={**os.environ, "HERALD_SUPERVISOR": str(os.getpid())},
                    start_new_session=True,
                )
            self.spawned.set()
            code = self.child.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= self.HEALTHY_AFTER:
                delay = self.FIRST_DELAY
            how = f"signal {-code}" if code < 0 else f"code {code}"
            logger.warning(
                "the worker (pid %d) ended with %s; starting it again in %g s",
                self.child.pid,
                how,
                delay,
            )
            self.stopping.wait(delay)
            delay = min(delay * 2, self.LONGEST_DELAY)

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _default_workers() -> int:
    # One process per core: the front answers artifacts in Python under the GIL, so
    # processes, not threads, add throughput. Capped: each process holds Django.
    return max(1, min(8, os.cpu_count() or 1))


def _default_threads() -> int:
    # Threads overlap the desk's database waits; the artifact path never waits.
    return int(settings.HERALD_ENV.get("HERALD_THREADS", "4"))


class Command(BaseCommand):
    help = "Serve the public pages, the desk and the API, with a background worker."

    def add_arguments(self, parser: CommandParser) -> None:
        env = settings.HERALD_ENV
        parser.add_argument("--host", default=env.get("HERALD_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(env.get("HERALD_PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(settings.HERALD_ENV.get("HERALD_WORKERS", "0")) or _default_workers(),
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

    def unapplied_migrations(self) -> bool:
        """Whether migrations are left to apply; waits for an unreachable database."""
        from herald.ops.worker import DATABASE_ERRORS, LONGEST_RETRY

        delay, waiting = 0.5, False
        while True:
            try:
                executor = MigrationExecutor(connection)
                plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
            except DATABASE_ERRORS as exc:
                if not waiting:
                    waiting = True
                    self.stderr.write(
                        f"The database is unreachable ({_first_line(exc)}); "
                        "waiting for it (Ctrl-C stops)."
                    )
                connection.close()
                time.sleep(delay)
                delay = min(delay * 2, LONGEST_RETRY)
                continue
            if waiting:
                self.stderr.write("The database answers; starting.")
            return bool(plan)

    def handle(self, *args: Any, **options: Any) -> None:
        from granian.constants import Interfaces
        from granian.server import Server

        stop_on_signals()
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads are at least 1.")
        port_lock = claim_port(options["host"], options["port"])  # first: fail fast
        call_command("check", fail_level="ERROR")
        if self.unapplied_migrations():
            raise CommandError("The database is not up to date: run `herald setup` first.")
        from herald.core.baseurl import served_url
        from herald.core.mail import where_mail_goes
        from herald.publication.actions import do_apply_base_url
        from herald.publishing import tasks
        from herald.publishing.store import serving
        from herald.publishing.store.artifacts import regenerate_everything

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
        from herald.backups.tasks import ensure_scheduled_backup

        ensure_scheduled_backup()
        connection.close()

        worker: WorkerSupervisor | None = None
        try:
            if not options["no_worker"]:
                worker = WorkerSupervisor([sys.executable, "-m", "herald.cli", "worker"])
                worker.start()
                # Before the web server forks its processes: a fork while Popen waits
                # for its child's exec would hold Popen's pipe open in the web process.
                worker.spawned.wait(timeout=30)
            self.stdout.write(
                f"Herald on http://{options['host']}:{options['port']}/ "
                f"({options['workers']} process(es) x {options['threads']} threads"
                + (", worker running" if worker else "")
                + "). Ctrl-C stops it."
            )
            self.stdout.write(f"Public base URL: {base.url} ({base.source}).")
            self.stdout.write(f"Mail goes to {where_mail_goes()}.")
            Server(
                "herald.wsgi:application",
                address=options["host"],
                port=options["port"],
                interface=Interfaces.WSGI,
                workers=options["workers"],
                blocking_threads=options["threads"],
                respawn_failed_workers=True,
                workers_kill_timeout=WEB_STOP_GRACE,
            ).serve()
        finally:
            if worker is not None:
                worker.stop()
            os.close(port_lock)
