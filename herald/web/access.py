"""Who may use the staff desk: signed-in staff. Everyone else is sent away the same way.

Anonymous visitors are redirected to the login page; signed-in accounts without
``is_staff`` get 403. Desk pages show drafts under embargo, so they are never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_staff", False):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(login_required(wrapper))


def acting_user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user, typed for the actions' ``acting_user``."""
    user = request.user
    if not isinstance(user, AbstractBaseUser):
        # staff_required has already refused anonymous visitors; this is a guard.
        raise PermissionDenied
    return user
