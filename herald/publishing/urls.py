"""URLs of the machine-readable public surfaces."""

from __future__ import annotations

from django.urls import path

from herald.publishing import views

app_name = "publishing"

urlpatterns = [
    path(".well-known/security.txt", views.security_txt, name="security-txt"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("security/pgp-key.asc", views.pgp_key, name="pgp-key"),
    path("security/advisories.md", views.markdown_page, name="markdown"),
    path("security/advisories/feed.atom", views.atom_feed, name="atom"),
    path("security/advisories/feed.rss", views.rss_feed, name="rss"),
    path(
        "security/advisories/products/<slug:product>/feed.atom",
        views.atom_feed,
        name="product-atom",
    ),
    path(
        "security/advisories/products/<slug:product>/feed.rss", views.rss_feed, name="product-rss"
    ),
]
