"""Addresses of the public pages (``/security/advisories/``) and the staff desk (``/desk/``)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, path
from django.views.generic import RedirectView

from herald.web.views import advisories, desk, incidents, public

app_name = "web"

ADVISORY = "desk/advisories/<str:identifier>/"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", RedirectView.as_view(pattern_name="web:public_index"), name="root"),
    path("security/advisories/", public.advisories_index, name="public_index"),
    path("security/advisories/<str:identifier>/", public.advisory_page, name="public_advisory"),
    # The desk.
    path(
        "desk/login/",
        auth_views.LoginView.as_view(template_name="web/desk/login.html"),
        name="login",
    ),
    path("desk/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("desk/", desk.dashboard, name="dashboard"),
    path("desk/incidents/", incidents.incident_list, name="incident_list"),
    path("desk/incidents/new/", incidents.incident_declare, name="incident_declare"),
    path("desk/incidents/<str:identifier>/", incidents.incident_detail, name="incident_detail"),
    path("desk/incidents/<str:identifier>/note/", incidents.incident_note, name="incident_note"),
    path(
        "desk/incidents/<str:identifier>/resolve/",
        incidents.incident_resolve,
        name="incident_resolve",
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
    path(ADVISORY + "schedule/", advisories.advisory_schedule, name="advisory_schedule"),
    path(ADVISORY + "revisions/", advisories.advisory_revisions, name="advisory_revisions"),
]
