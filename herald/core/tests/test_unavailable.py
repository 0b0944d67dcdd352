"""While the database is unreachable: 503 with Retry-After from Django, artifacts from the front."""

from __future__ import annotations

import io
import json
import logging
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

from django.core.wsgi import get_wsgi_application
from django.db import connection
from django.test import SimpleTestCase

from herald.core import unavailable
from herald.publishing.store.serving import Front, SiteStore, pack


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Point the connection at a database that cannot be reached: a closed port
    (PostgreSQL) or a file in a directory that does not exist (SQLite)."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-herald-directory/herald.sqlite3"
    else:
        connection.settings_dict["HOST"] = "127.0.0.1"
        connection.settings_dict["PORT"] = closed_port()
    unavailable._last_warning = 0.0
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def wsgi_get(app: Any, path: str, **environ: str) -> tuple[str, dict[str, str], bytes]:
    env: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET", **environ}
    setup_testing_defaults(env)
    env["wsgi.errors"] = io.StringIO()
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], body


class DatabaseOutageAnswersTests(SimpleTestCase):
    databases = {"default"}

    def test_the_api_answers_503_with_retry_after_and_a_json_body(self) -> None:
        with database_unreachable():
            response = self.client.get("/api/v1/advisories")
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert "unreachable" in json.loads(response.content)["detail"]

    def test_a_page_answers_a_short_html_503_not_a_500(self) -> None:
        with database_unreachable():
            response = self.client.get("/security/report/")
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert response["Content-Type"].startswith("text/html")
        assert b"Temporarily unavailable" in response.content

    def test_an_outage_met_in_a_middleware_answers_503_too(self) -> None:
        # A session cookie makes the access gate load the session from the database.
        self.client.raise_request_exception = False
        self.client.cookies["herald_session"] = "x" * 32
        with database_unreachable(), self.assertLogs("herald.unavailable", "WARNING") as logs:
            first = self.client.get("/desk/")
            second = self.client.get("/desk/")
        assert first.status_code == second.status_code == 503
        assert len(logs.records) == 1, "one warning per minute, not one per request"

    def test_django_logs_no_traceback_per_request_in_an_outage(self) -> None:
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        handler = Keep()
        request_log = logging.getLogger("django.request")
        request_log.addHandler(handler)
        try:
            self.client.raise_request_exception = False
            self.client.cookies["herald_session"] = "x" * 32
            with database_unreachable():
                self.client.get("/security/report/")  # raised in a view
                self.client.get("/desk/")  # raised in a middleware
        finally:
            request_log.removeHandler(handler)
        assert records == []


class FrontInOutageTests(SimpleTestCase):
    databases = {"default"}

    def test_the_front_keeps_serving_artifacts_while_django_answers_503(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            store = SiteStore(Path(tmp))
            store.ensure()
            store.write("security/advisories/feed.atom", pack(b"<feed/>", "text/xml", "e1", 0))
            app = Front(get_wsgi_application(), store=store)
            with database_unreachable():
                status, _, body = wsgi_get(app, "/security/advisories/feed.atom")
                assert (status, body) == ("200 OK", b"<feed/>")
                status, headers, _ = wsgi_get(app, "/security/report/")
                assert status.startswith("503")
                assert headers["Retry-After"] == "30"
