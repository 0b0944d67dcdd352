"""While the database is unreachable: 503 with Retry-After, not an HTML 500 per request.

A database error can surface in a view (most pages query) or in a middleware
(the session, the access gate), so it is caught at both places Django offers:
``DatabaseUnavailableMiddleware.process_exception`` for views and ``server_error``
(``handler500``) for everything else. The API gets a JSON body, other routes a
short plain page. ``QuietDatabaseOutage`` keeps Django's per-request traceback
out of the log; one warning a minute per process says what is going on instead.
Published artifacts never reach Django: the front answers them from the served
copy (``herald.publishing.store.serving``).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger("herald.unavailable")

DATABASE_ERRORS = (OperationalError, InterfaceError)
LOG_EVERY = 60.0  # seconds between two warnings of one process

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body><h1>Temporarily unavailable</h1>
<p>The desk cannot reach its database. Published advisories are still served.
Please try again in a minute.</p></body></html>
"""

_last_warning = 0.0
_lock = threading.Lock()


def is_database_outage(exc: BaseException | None) -> bool:
    return isinstance(exc, DATABASE_ERRORS)


def _note(request: HttpRequest, exc: BaseException) -> None:
    global _last_warning
    with _lock:
        now = time.monotonic()
        if now - _last_warning < LOG_EVERY:
            return
        _last_warning = now
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    logger.warning("database unreachable (%s): answering 503 (%s)", first, request.path)


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 for ``request``: JSON under /api/, a short page elsewhere."""
    _note(request, exc)
    setattr(request, "herald_outage", True)  # noqa: B010  (read by QuietDatabaseOutage)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": "The database is unreachable; try again shortly."}, status=503
        )
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(settings.HERALD_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database outage raised by a view into a 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return unavailable(request, exc) if is_database_outage(exc) else None


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``handler500``: a database outage raised outside a view is a 503 too."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_outage(exc):
        return unavailable(request, exc)
    return defaults.server_error(request, *args, **kwargs)


class QuietDatabaseOutage(logging.Filter):
    """Drops ``django.request``'s line (and traceback) for each request answered 503
    in an outage: ``unavailable`` has said it once a minute already."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        request = getattr(record, "request", None)
        return not (is_database_outage(exc) or getattr(request, "herald_outage", False))
