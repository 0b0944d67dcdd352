"""Two middlewares: security headers on every response, and the desk's gate.

``SecurityHeadersMiddleware`` adds the headers ``herald.core.security_headers``
defines (a strict Content-Security-Policy, Permissions-Policy, HSTS over HTTPS and
friends), the very ones the artifact front sends with published pages.

``AccessGateMiddleware`` asks the desk's one guard (``herald.accounts.guard``)
before any ``/desk/`` view runs, the same question every desk view's
``staff_required`` asks, so a page is refused before its view's code. It also ends
sessions left idle, and on the API treats a session without its required
second factor as no session at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse

from herald.accounts import access
from herald.accounts.guard import check_desk_route
from herald.core.security_headers import security_headers

SEEN_KEY = "herald_seen"


class SecurityHeadersMiddleware:
    """The headers of ``herald.core.security_headers``, the same the artifact front sends."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.plain = security_headers(secure=False)
        self.secure = security_headers(secure=True)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in self.secure if request.is_secure() else self.plain:
            response.headers.setdefault(name, value)
        return response


class AccessGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self._expire_idle(request)
        return self.get_response(request)

    def _expire_idle(self, request: HttpRequest) -> None:
        if not request.user.is_authenticated:
            return
        idle = int(getattr(settings, "HERALD_SESSION_IDLE_SECONDS", 3600))
        now = int(time.time())
        seen = request.session.get(SEEN_KEY)
        if isinstance(seen, int) and idle and now - seen > idle:
            logout(request)
            return
        if not isinstance(seen, int) or now - seen > 60:  # one session write a minute at most
            request.session[SEEN_KEY] = now

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        path = request.path_info
        if path.startswith("/api/"):
            user = request.user
            if user.is_authenticated and access.needs_mfa(user) and not access.has_mfa(user):
                request.user = AnonymousUser()
            return None
        if not path.startswith("/desk/"):
            return None
        match = request.resolver_match
        return check_desk_route(
            request, match.view_name if match else "", view_func, dict(view_kwargs)
        )
