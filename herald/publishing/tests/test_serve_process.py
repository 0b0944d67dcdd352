"""A real ``herald serve`` on a loopback port: artifacts without the database on the hot path."""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from herald.publishing.tests.test_public_artifacts import builders
from herald.test import HeraldTransactionTestCase


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}?transaction_mode=IMMEDIATE&timeout=20"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http on loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                (response.read()),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            if condition():
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class RealServer(HeraldTransactionTestCase):
    @pytest.fixture(autouse=True)
    def _dirs(self, tmp_path: Path) -> None:
        self.tmp = tmp_path

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "HERALD_HOME": str(self.tmp / "home"),
            "HERALD_SITE_DIR": str(self.tmp / "site"),
            "HERALD_SITE_POLL": "0.2",
            "HERALD_LOG_LEVEL": "WARNING",
        }
        log = (self.tmp / "serve.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "herald.cli", "serve", "--port", str(port),
             "--workers", "1", "--threads", "2", "--no-worker"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: fetch(base + "/security/advisories/")[0] == 200, "the server")
            yield base
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()

    @contextlib.contextmanager
    def database_out_of_reach(self) -> Iterator[None]:
        """SQLite: the file replaced by a directory, so no new connection opens.
        PostgreSQL: the artifact and advisory tables locked by another session."""
        db = connection.settings_dict
        if db["ENGINE"].endswith("sqlite3"):
            path = Path(db["NAME"])
            aside = path.with_name(path.name + ".aside")
            path.rename(aside)
            path.mkdir()
            try:
                yield
            finally:
                path.rmdir()
                aside.rename(path)
            return
        import psycopg

        with psycopg.connect(database_url()) as locker:
            locker.execute(
                "LOCK TABLE publishing_artifact, advisories_advisory IN ACCESS EXCLUSIVE MODE"
            )
            yield
            locker.rollback()

    def test_it_serves_artifacts_while_the_database_is_out_of_reach(self) -> None:
        advisory = self.published(title="Served without a database")
        page = builders.ADVISORY_PATH.format(identifier=advisory.identifier).removesuffix(
            "index.html"
        )
        with self.settings(HERALD_SITE_DIR=self.tmp / "elsewhere"), self.serve() as base:
            status, headers, body = fetch(f"{base}/{page}")
            assert status == 200 and b"Served without a database" in body
            with self.database_out_of_reach():
                for path in (page, "security/advisories/", "security/advisories/feed.atom",
                             ".well-known/security.txt"):  # fmt: skip
                    assert fetch(f"{base}/{path}")[0] == 200, path
                assert fetch(f"{base}/{page}", if_none_match=headers["etag"])[0] == 304
                status, zipped_headers, zipped = fetch(f"{base}/{page}", accept_encoding="gzip")
                assert zipped_headers["content-encoding"] == "gzip"
                assert gzip.decompress(zipped) == body
                if connection.vendor == "sqlite":
                    # What is not an artifact needs Django and the database: it is
                    # unavailable for now (herald.core.unavailable), not an error.
                    status, headers, _ = fetch(f"{base}/security/advisories/NW-2026-0999/")
                    assert (status, headers["retry-after"]) == (503, "30")

    def test_a_publication_reaches_a_running_server_through_its_poller(self) -> None:
        self.published(title="Already there")
        # This process keeps its own copy elsewhere: only the server's poller can
        # bring the server's copy up to date, as on another machine.
        with self.settings(HERALD_SITE_DIR=self.tmp / "elsewhere"), self.serve() as base:
            assert b"Second one" not in fetch(f"{base}/security/advisories/")[2]
            second = self.published(title="Second one", cve_ids=[])
            wait_for(
                lambda: b"Second one" in fetch(f"{base}/security/advisories/")[2],
                "the index to show the new advisory",
            )
            for path in (
                f"security/advisories/{second.identifier}/",
                "security/advisories/feed.atom",
                "security/advisories.md",
            ):
                assert b"Second one" in fetch(f"{base}/{path}")[2], path
