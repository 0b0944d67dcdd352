"""The site's URLs plus the OSV API, mounted as ``herald.urls`` will mount it."""

from __future__ import annotations

from django.urls import include, path

from herald.urls import urlpatterns as site

urlpatterns = [path("", include("herald.publishing.osvquery.osv_urls")), *site]
