"""URLs of the OSV-compatible query API, at the root as on api.osv.dev.

Mounted by ``herald.urls`` with ``path("", include("herald.publishing.osvquery.osv_urls"))``,
so a client configured with the site's base URL finds ``/v1/query``.
"""

from __future__ import annotations

from django.urls import path

from herald.publishing.osvquery import osv_api

app_name = "osv"

urlpatterns = [
    path("v1/query", osv_api.query, name="query"),
    path("v1/querybatch", osv_api.querybatch, name="querybatch"),
    path("v1/vulns/<str:vuln_id>", osv_api.vuln, name="vuln"),
]
