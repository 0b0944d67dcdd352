"""URL map: public pages, the staff desk, and the APIs."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("herald.ops.urls")),  # /healthz, /readyz, /metrics
    path("", include("herald.publishing.urls")),
    # The OSV-compatible query API at the root, where api.osv.dev serves it.
    path("", include("herald.publishing.osvquery.osv_urls")),
    path("", include("herald.notify.urls")),
    path("", include("herald.intake.urls")),
    path("", include("herald.web.urls")),
    path("", include("herald.accounts.urls")),
    # allauth: second factors, passwords, single sign-on (its login is /desk/login/).
    path("desk/account/", include("allauth.urls")),
    path("api/", include("herald.api.urls")),
]

# A database outage outside a view answers 503 (herald.core.unavailable).
handler500 = "herald.core.unavailable.server_error"
