"""`herald serve` as a process: it supervises its worker and keeps its port to itself."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
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

    def test_a_sigint_while_it_starts_stops_it_even_from_a_background_job(self) -> None:
        port = free_port()
        closed = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "herald.cli", "serve", "--port", str(port)],
            env={**os.environ, "DATABASE_URL": f"postgres://herald@127.0.0.1:{closed}/herald"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=as_a_background_job,
        )  # fmt: skip
        try:
            assert server.stderr is not None
            line = server.stderr.readline()
            assert "(Ctrl-C stops)" in line, line
            server.send_signal(signal.SIGINT)
            _, errors = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError("SIGINT did not stop herald serve while it started") from None
        finally:
            server.kill()
            server.communicate()
        assert server.returncode == 130
        assert "Traceback" not in errors, errors


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, read from /proc (psutil is not a dependency)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def as_a_background_job() -> None:
    # What a shell does to `make run &`: the job ignores SIGINT from its terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stopped_within(server: subprocess.Popen[bytes], seconds: float) -> set[int]:
    """Processes of the server (it included) still running after ``seconds``."""
    seen = descendants(server.pid) | {server.pid}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        server.poll()  # reap it: a zombie is stopped
        seen |= descendants(server.pid)
        left = {pid for pid in seen if running(pid)}
        if not left:
            return left
        time.sleep(0.1)
    return left


class ServeStopsTests(TransactionTestCase):
    """A signal to the `herald serve` process alone stops all it started."""

    def assert_stops_on(self, sig: signal.Signals) -> None:
        with tempfile.TemporaryDirectory() as home:
            port = free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "herald.cli", "serve", "--port", str(port),
                 "--workers", "2", "--threads", "1"],
                env={**os.environ, "DATABASE_URL": database_url(), "HERALD_HOME": home},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=as_a_background_job,
            )  # fmt: skip
            left: set[int] = set()
            try:
                wait_for(lambda: answers(port), 60, "the server to answer")
                # Two web processes and the worker.
                wait_for(lambda: len(descendants(server.pid)) >= 3, 30, "every child")
                # A client that sent half a request: the web server would wait for the
                # rest (30 s) before its process ends.
                with socket.create_connection(("127.0.0.1", port)) as client:
                    client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    time.sleep(0.5)
                    server.send_signal(sig)
                    left = stopped_within(server, 12)
            finally:
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                server.kill()
                server.wait()
        assert not left, f"still running 12 s after {sig.name}: {sorted(left)}"

    def test_sigint_to_the_server_alone_stops_every_child(self) -> None:
        self.assert_stops_on(signal.SIGINT)

    def test_sigterm_to_the_server_alone_stops_every_child(self) -> None:
        self.assert_stops_on(signal.SIGTERM)
