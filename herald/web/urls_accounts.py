"""Addresses of the account pages, all under ``/desk/`` (so the gate guards them)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from herald.web.views import accounts as views

app_name = "accounts"

urlpatterns: list[URLPattern | URLResolver] = [
    path("desk/invitation/<str:secret>/", views.accept, name="accept"),
    path("desk/me/", views.home, name="home"),
    path("desk/me/tokens/", views.token_create, name="token_create"),
    path("desk/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("desk/admin/people/", views.people, name="people"),
    path("desk/admin/people/<int:pk>/", views.person, name="person"),
    path("desk/admin/invite/", views.invite, name="invite"),
    path(
        "desk/admin/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("desk/admin/collaborators/", views.collaborators, name="collaborators"),
    path(
        "desk/admin/collaborators/<int:pk>/remove/",
        views.collaborator_remove,
        name="collaborator_remove",
    ),
    path("desk/admin/access-review/", views.access_review, name="access_review"),
    path("desk/admin/audit/", views.audit, name="audit"),
    path("desk/admin/audit/export/", views.audit_export, name="audit_export"),
]
