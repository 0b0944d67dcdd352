"""The desk's one staff guard: who may open a desk page, asked the same way everywhere.

``check_desk_route(request, route, view, kwargs)`` is the decision, from the one
permission table (``herald.accounts.access``):

1. an anonymous visitor is sent to the login page;
2. a person who must have a second factor (every staff role, every collaborator)
   and has none is sent to set it up, and nowhere else;
3. anyone without the route's permission (``ROUTE_PERMISSIONS``; an unlisted desk
   route needs ``desk.work``, admins and responders only) gets 403; an account that
   is disabled has no permission at all;
4. an advisory or incident named in the address that the person may not read is a
   404, the very response an unknown one gets.

The role (``Account.role``) is what is asked, never Django's ``is_staff`` flag: the
flag is a copy the role's action keeps in step, for Django's own tools.

``staff_required`` puts that decision on a view; every desk view in
``herald/web/views/`` carries it (``herald/web/tests/test_desk_guard.py`` walks
every desk route with the gate middleware switched off and fails on a view without
it). ``AccessGateMiddleware`` asks the same question before any ``/desk/`` view,
so the check runs once per request. Desk pages show drafts under embargo and
reports, so they are never cached.

Access review flags accounts for a person to look at; it expires nothing, so there
is no review date to check here: an account the review removes is disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.cache import never_cache

from herald.accounts import access

View = Callable[..., HttpResponseBase]
GUARDED = "_herald_staff_guard"


def _is_open(route: str, view: Any) -> bool:
    module = getattr(view, "__module__", "") or ""
    return route in access.OPEN_ROUTES or module.startswith("allauth.")


def check_desk_route(
    request: HttpRequest, route: str, view: Any, kwargs: dict[str, Any] | None = None
) -> HttpResponse | None:
    """None when ``request`` may open desk route ``route``; else the response (or 403)."""
    if getattr(request, "_herald_gate_passed", False) or _is_open(route, view):
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
    request._herald_gate_passed = True  # type: ignore[attr-defined]  # asked once per request
    return None


def staff_required(view: View) -> View:
    """Guard a desk view with ``check_desk_route``, its route's permission; never cached."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        match = request.resolver_match
        refused = check_desk_route(request, match.view_name if match else "", view, kwargs)
        if refused is not None:
            return refused
        return view(request, *args, **kwargs)

    setattr(wrapper, GUARDED, True)
    return never_cache(wrapper)


def acting_user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user, typed for the actions' ``acting_user``."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        # The guard has already refused anonymous visitors; this is a guard.
        raise PermissionDenied
    return user
