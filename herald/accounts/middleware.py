"""Two middlewares: security headers on every response, and the desk's gate.

``SecurityHeadersMiddleware`` adds the headers ``herald.core.security_headers``
defines (a strict Content-Security-Policy, Permissions-Policy, HSTS over HTTPS and
friends), the very ones the artifact front sends with published pages.

``AccessGateMiddleware`` decides, before any desk view runs, whether the person
may open that route: anonymous visitors go to the login page, anyone who must
have a second factor and has none goes to set one up (and nowhere else), and
everyone else needs the route's permission from ``herald.accounts.access``. It
covers every app's desk pages, not only those whose views ask. It also ends
sessions left idle, and on the API treats a session without its required
second factor as no session at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from herald.accounts import access
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


def _is_open(request: HttpRequest, route: str, view: Any) -> bool:
    module = getattr(view, "__module__", "") or ""
    return route in access.OPEN_ROUTES or module.startswith("allauth.")


def check_desk_route(
    request: HttpRequest, route: str, view: Any, kwargs: dict[str, Any] | None = None
) -> HttpResponse | None:
    """None when ``request`` may open desk route ``route``; else the response (or 403).

    The route's object (an advisory or incident named in the address) is checked too:
    one the person may not read is a 404, the very response an unknown one gets.
    """
    if getattr(request, "_herald_gate_passed", False) or _is_open(request, route, view):
        return None
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if access.needs_mfa(user) and not access.has_mfa(user):
        if not request.session.get("herald_mfa_told"):
            request.session["herald_mfa_told"] = True
            messages.warning(
                request,
                "Set up a second factor (an authenticator app or a passkey) before using the desk.",
            )
        return HttpResponseRedirect(reverse("mfa_index"))
    permission = access.route_permission(route)
    if not access.can(user, permission):
        raise PermissionDenied
    obj = access.route_object(route, kwargs or {})
    if obj is not None and not access.can(user, access.read_permission_for(obj), obj):
        raise Http404
    request._herald_gate_passed = True  # type: ignore[attr-defined]  # the view's guard skips
    return None


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
