"""`herald serve` as a process: it supervises its worker and keeps its port to itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from django.test import SimpleTestCase, TransactionTestCase

from herald.core.models import WorkerHeartbeat
from herald.notify.tests.peers import free_port
from herald.notify.tests.test_workers import database_url, wait_for


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class ServeTests(TransactionTestCase):
    def serve(self, port: int, log: Path) -> subprocess.Popen[bytes]:
        environment = {**os.environ, "DATABASE_URL": database_url(), "HERALD_LOG_LEVEL": "INFO"}
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "herald.cli", "serve", "--port", str(port),
                 "--workers", "1", "--threads", "1"],
                env=environment, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self, server: subprocess.Popen[bytes]) -> None:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def test_a_killed_worker_is_started_again_and_a_second_server_refuses_the_port(self) -> None:
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"herald-serve-{port}.log"
        server = self.serve(port, log)
        try:
            wait_for(lambda: answers(port), 60, "the server to answer")
            second = subprocess.Popen(
                [sys.executable, "-m", "herald.cli", "serve", "--port", str(port)],
                env={**os.environ, "DATABASE_URL": database_url()},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            wait_for(WorkerHeartbeat.objects.exists, 60, "the worker's heartbeat")
            first = WorkerHeartbeat.objects.get()
            _, errors = second.communicate(timeout=60)
            assert second.returncode != 0
            assert f"Port {port} on 127.0.0.1 is already" in errors, errors
            assert "Traceback" not in errors

            os.kill(first.pid, signal.SIGKILL)
            wait_for(
                lambda: WorkerHeartbeat.objects.exclude(pid=first.pid).exists(),
                60,
                "a new worker after the kill",
            )
            assert answers(port)
        finally:
            self.stop(server)
        text = log.read_text()
        assert f"the worker (pid {first.pid}) ended with signal 9; starting it again" in text, text


class ServeWithoutDatabaseTests(SimpleTestCase):
    def test_serve_started_while_the_database_is_down_waits_for_it_without_a_traceback(
        self,
    ) -> None:
        port = free_port()
        closed = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "herald.cli", "serve", "--port", str(port)],
            env={**os.environ, "DATABASE_URL": f"postgres://herald@127.0.0.1:{closed}/herald"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stderr is not None
            line = server.stderr.readline()
            assert line.startswith("The database is unreachable"), line
            assert "waiting for it" in line
            assert server.poll() is None, "herald serve gave up"
        finally:
            server.kill()
            server.communicate()
