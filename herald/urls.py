"""URL map: public pages, the staff desk, and the APIs.

Every page's view lives in ``herald/web/views/<app>.py`` and its addresses in
``herald/web/urls*.py``, one module per URL namespace (``web``, ``intake``,
``notify``, ``accounts``), so the names ``reverse()`` knows stay what they were.
"""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("herald.ops.urls")),  # /healthz, /readyz, /metrics
    path("", include("herald.publishing.urls")),
    # The OSV-compatible query API at the root, where api.osv.dev serves it.
    path("", include("herald.publishing.osvquery.osv_urls")),
    path("", include("herald.web.urls_notify")),
    path("", include("herald.web.urls_intake")),
    path("", include("herald.web.urls")),
    path("", include("herald.web.urls_accounts")),
    # allauth: second factors, passwords, single sign-on (its login is /desk/login/).
    path("desk/account/", include("allauth.urls")),
    path("api/", include("herald.api.urls")),
]

# A database outage outside a view answers 503 (herald.core.unavailable).
handler500 = "herald.core.unavailable.server_error"
