"""Requests no view can take, refused before any view (or the database) sees them.

- A NUL character in the path, the query string, a cookie, a form field or a JSON
  body: PostgreSQL text cannot hold one, so a lookup or a write with it would fail
  deep in a view as a server error. It is answered with 400 and a sentence naming
  where it was.
- A body over the address's size limit, too many form fields, or too many files:
  Django's own refusal is a bare HTML 400. Here the API answers 413 (or 400) in its
  JSON error shape naming the limit, and a page that opts in (the report form)
  shows the message in the form it re-renders; any other page gets a short page
  saying what was too big.

Size limits are per route: every route takes ``DEFAULT_BODY_LIMIT`` bytes (Django's
own default), and a route that takes uploads registers its larger limit with
``register_body_limit`` (the intake does, from its attachment settings). The
whole body is bounded by its Content-Length before anything reads it, which is
why ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is off in the settings: one home for the limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string

DEFAULT_BODY_LIMIT = 2_621_440  # 2.5 MiB, Django's DATA_UPLOAD_MAX_MEMORY_SIZE default
# A JSON escape of NUL with an even number of backslashes before it (\\u0000 is the text
# "\u0000", which is fine).
JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
REFUSED_ATTRIBUTE = "herald_refused_body"

_limits: dict[str, Callable[[], int]] = {}
_shown_in_form: set[str] = set()


def register_body_limit(
    view_name: str, limit: Callable[[], int], *, shown_in_form: bool = False
) -> None:
    """Let the route ``view_name`` take bodies up to ``limit()`` bytes.

    ``shown_in_form``: the view renders ``refused_body(request)`` in its form instead
    of being skipped; it then gets an empty POST and no CSRF check, so it must
    not act on such a request, only show the form again with the message.
    """
    _limits[view_name] = limit
    if shown_in_form:
        _shown_in_form.add(view_name)


def refused_body(request: HttpRequest) -> str:
    """Why this request's body was refused ("" when it was not), for a form to show."""
    return str(getattr(request, REFUSED_ATTRIBUTE, ""))


def body_limit(view_name: str) -> int:
    getter = _limits.get(view_name)
    return getter() if getter is not None else DEFAULT_BODY_LIMIT


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB"


def _nul_in_url(request: HttpRequest) -> str:
    if "\x00" in request.path:
        return "The address contains a NUL character."
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return f"The query parameter {name.replace(chr(0), '')!r} contains a NUL character."
    if "\x00" in request.META.get("HTTP_COOKIE", ""):
        return "A cookie contains a NUL character."
    return ""


def _nul_in_body(request: HttpRequest) -> str:
    """Read and check the body (form fields, or JSON and any other text)."""
    # Read whole first (it is bounded by the route's limit): a view that reads the raw
    # body of a multipart request (the OSV API, the JSON API) then still can.
    body = request.body
    content_type = request.content_type or ""
    if content_type in FORM_TYPES:
        for name, values in request.POST.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                return f"The field {name.replace(chr(0), '')!r} contains a NUL character."
        for name, files in request.FILES.lists():
            # File contents may hold any byte; their names may not.
            if any("\x00" in (upload.name or "") for upload in files):
                return f"A file name in {name!r} contains a NUL character."
        return ""
    if b"\x00" in body or JSON_NUL.search(body):
        return "The request body contains a NUL character."
    return ""


class RequestGuardMiddleware:
    """Refuses NUL characters and over-limit bodies with a clear answer (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Before the session or the user is loaded: their lookups use the cookie.
        try:
            problem = _nul_in_url(request)
        except TooManyFieldsSent as exc:
            problem = too_big_message(exc, 0, 0).replace("fields", "query parameters", 1)
        if problem:
            return refuse(request, 400, problem)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        match = request.resolver_match
        view_name = match.view_name if match else ""
        limit = body_limit(view_name)
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        try:
            if size > limit:
                raise RequestDataTooBig(f"{size} > {limit}")
            problem = _nul_in_body(request)
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as exc:
            message = too_big_message(exc, size, limit)
            if view_name in _shown_in_form:
                setattr(request, REFUSED_ATTRIBUTE, message)
                request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
                request._post, request._files = _empty_post()  # type: ignore[attr-defined]
                return None
            return refuse(request, 413 if isinstance(exc, RequestDataTooBig) else 400, message)
        except MultiPartParserError as exc:
            return refuse(request, 400, f"The form data cannot be read: {exc}")
        if problem:
            return refuse(request, 400, problem)
        return None


def _empty_post() -> tuple[Any, Any]:
    from django.http import QueryDict
    from django.utils.datastructures import MultiValueDict

    return QueryDict(), MultiValueDict()


def too_big_message(exc: Exception, size: int, limit: int) -> str:
    if isinstance(exc, TooManyFilesSent):
        return (
            f"Too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} may be sent "
            "at once. Nothing was saved."
        )
    if isinstance(exc, TooManyFieldsSent):
        return (
            f"Too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} may be sent "
            "at once. Nothing was saved."
        )
    return (
        f"The request is too large ({_megabytes(size)}); this address takes at most "
        f"{_megabytes(limit)} ({limit:,} bytes). Nothing was saved."
    )


def refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The refusal: the API's JSON error shape under /api/, a short page elsewhere."""
    if request.path_info.startswith("/api/"):
        return HttpResponse(
            json.dumps({"detail": message, "errors": []}),
            status=status,
            content_type="application/json",
        )
    if request.path_info.startswith("/v1/"):  # the OSV query API, in osv.dev's shape
        return HttpResponse(
            json.dumps({"code": 3, "message": message}),
            status=status,
            content_type="application/json",
        )
    # With the request: the page's layout shows the vendor's name and contact, and a
    # desk address keeps the desk's layout, with its way back.
    template = "refused_desk.html" if request.path_info.startswith("/desk/") else "refused.html"
    page = render_to_string(template, {"message": message, "status": status}, request=request)
    return HttpResponse(page, status=status)
