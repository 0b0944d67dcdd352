"""Who may use each desk page: the route's permission, by role, from ``herald.accounts.access``.

``staff_required`` (the name every desk view already carries) now asks the one
permission table rather than ``is_staff``: anonymous visitors are redirected to the
login page, a person who must have a second factor and has none is sent to set it
up, anyone without the route's permission gets 403, and an advisory or incident
named in the address that the person may not read is a 404, like an unknown one.
``AccessGateMiddleware`` runs the same check before any desk view; this decorator
keeps a view safe on its own. Admins and responders open every page, as before.
Desk pages show drafts under embargo, so they are never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from herald.accounts.middleware import check_desk_route

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Guard a desk view with its route's permission (``ROUTE_PERMISSIONS``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        match = request.resolver_match
        refused = check_desk_route(request, match.view_name if match else "", view, kwargs)
        if refused is not None:
            return refused
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


desk_view = staff_required


def acting_user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user, typed for the actions' ``acting_user``."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        # The desk's guard has already refused anonymous visitors; this is a guard.
        raise PermissionDenied
    return user
