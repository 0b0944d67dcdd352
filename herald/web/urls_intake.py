"""Addresses of the intake: the public form, the reporter's thread, and the desk's pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from herald.web.views import intake as views

app_name = "intake"

urlpatterns: list[URLPattern | URLResolver] = [
    path("security/report/", views.report_form, name="report_form"),
    path("security/reports/<str:token>/", views.thread, name="thread"),
    path("desk/reports/", views.desk_reports, name="desk_reports"),
    path("desk/reports/rewards/", views.desk_rewards, name="desk_rewards"),
    path("desk/reports/mail/", views.desk_mail, name="desk_mail"),
    path("desk/reports/mail/<int:pk>/raw/", views.desk_raw_mail, name="desk_raw_mail"),
    path("desk/reports/attachments/<int:pk>/", views.desk_attachment, name="desk_attachment"),
    path("desk/reports/<str:tracking_id>/", views.desk_report, name="desk_report"),
]
