"""URLs of the APIs, mounted under ``/api/`` by ``herald.urls``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path

from herald.api.api import api, error_response


def not_found(request: HttpRequest) -> HttpResponse:
    # Any other path under /api/v1/ answers in the API's error shape, not with
    # the site's HTML 404 page.
    return error_response(request, 404, "Not found.")


urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", api.urls),
    re_path(r"^v1/", not_found),
]
