"""Addresses of the public pages (``/security/advisories/``) and the staff desk (``/desk/``)."""

from __future__ import annotations

from allauth.account import views as account_views
from django.urls import URLPattern, URLResolver, path
from django.views.generic import RedirectView

from herald.web.views import advisories, desk, incidents, metrics, outbox, public, search

app_name = "web"

ADVISORY = "desk/advisories/<str:identifier>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="web:public_index"), name="root"),
    path("security/advisories/", public.advisories_index, name="public_index"),
    path(
        "security/advisories/archive/<int:year>/",
        public.advisories_archive,
        name="public_archive",
    ),
    path("security/advisories/<str:identifier>/", public.advisory_page, name="public_advisory"),
    path("security/products/<slug:slug>/vex/", public.product_vex, name="public_product_vex"),
    # The desk.
    # allauth's views: rate limits, lockout, the second-factor step, passkeys.
    path("desk/login/", account_views.login, name="login"),
    path("desk/logout/", account_views.logout, name="logout"),
    path("desk/", desk.dashboard, name="dashboard"),
    path("desk/search/", search.search_page, name="search"),
    path("desk/metrics/", metrics.metrics_page, name="metrics"),
    path("desk/metrics.csv", metrics.metrics_csv, name="metrics_csv"),
    path("desk/cvss/score/", advisories.cvss_score, name="cvss_score"),
    path("desk/outbox/", outbox.outbox_list, name="outbox"),
    path("desk/outbox/<int:pk>/", outbox.outbox_message, name="outbox_message"),
    path("desk/outbox/<int:pk>.eml", outbox.outbox_raw, name="outbox_raw"),
    path("desk/incidents/", incidents.incident_list, name="incident_list"),
    path("desk/incidents/new/", incidents.incident_declare, name="incident_declare"),
    path("desk/incidents/<str:identifier>/", incidents.incident_detail, name="incident_detail"),
    path("desk/incidents/<str:identifier>/note/", incidents.incident_note, name="incident_note"),
    path(
        "desk/incidents/<str:identifier>/resolve/",
        incidents.incident_resolve,
        name="incident_resolve",
    ),
    path(
        "desk/incidents/<str:identifier>/handbook-pull-request/",
        incidents.incident_handbook_pull_request,
        name="incident_handbook_pull_request",
    ),
    path(
        "desk/incidents/<str:identifier>/handbook-pull-request/refresh/",
        incidents.incident_handbook_refresh,
        name="incident_handbook_refresh",
    ),
    path("desk/advisories/", advisories.advisory_list, name="advisory_list"),
    path("desk/advisories/new/", advisories.advisory_create, name="advisory_create"),
    path(ADVISORY, advisories.advisory_detail, name="advisory_detail"),
    path(ADVISORY + "edit/", advisories.advisory_edit, name="advisory_edit"),
    path(ADVISORY + "preview/", advisories.advisory_preview, name="advisory_preview"),
    path(ADVISORY + "publish/", advisories.advisory_publish, name="advisory_publish"),
    path(ADVISORY + "fix/", advisories.advisory_fix, name="advisory_fix"),
    path(ADVISORY + "resolve/", advisories.advisory_resolve, name="advisory_resolve"),
    path(ADVISORY + "withdraw/", advisories.advisory_withdraw, name="advisory_withdraw"),
    path(ADVISORY + "github/", advisories.advisory_github_link, name="advisory_github_link"),
    path(ADVISORY + "github/cve/", advisories.advisory_github_cve, name="advisory_github_cve"),
    path(
        ADVISORY + "github/refresh/",
        advisories.advisory_github_refresh,
        name="advisory_github_refresh",
    ),
    path(ADVISORY + "schedule/", advisories.advisory_schedule, name="advisory_schedule"),
    path(ADVISORY + "revisions/", advisories.advisory_revisions, name="advisory_revisions"),
    path(
        ADVISORY + "vulnerabilities/new/",
        advisories.vulnerability_add,
        name="advisory_vulnerability_add",
    ),
    path(
        ADVISORY + "vulnerabilities/<int:number>/",
        advisories.vulnerability_edit,
        name="advisory_vulnerability_edit",
    ),
    path(
        ADVISORY + "vulnerabilities/<int:number>/remove/",
        advisories.vulnerability_remove,
        name="advisory_vulnerability_remove",
    ),
]
