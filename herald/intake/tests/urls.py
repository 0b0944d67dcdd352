"""A test-only URL map: the site, with the reports router mounted as the lead will mount it.

herald/api is another engineer's; until ``api.add_router("/reports", router)`` is
in it, tests reach the router here, at the same address (/api/v1/reports).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI

from herald.intake.api import router
from herald.urls import urlpatterns as site

api = NinjaAPI(
    title="Herald (intake tests)", version="1", urls_namespace="intake-tests-api", docs_url=None
)
api.add_router("/reports", router)

urlpatterns: list[URLPattern | URLResolver] = [path("api/v1/", api.urls), *site]
