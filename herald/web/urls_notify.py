"""Addresses of the subscription pages (``/security/...``) and the desk's notify pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from herald.web.views import notify as views

app_name = "notify"

urlpatterns: list[URLPattern | URLResolver] = [
    path("security/subscribe/", views.subscribe, name="subscribe"),
    path("security/subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("security/subscriptions/<str:token>/", views.manage, name="manage"),
    path("security/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("desk/notify/campaigns/", views.campaign_list, name="campaigns"),
    path("desk/notify/campaigns/<str:pk>/", views.campaign_detail, name="campaign"),
    path(
        "desk/notify/campaigns/<str:pk>/<str:verb>/",
        views.campaign_action,
        name="campaign_action",
    ),
    path("desk/notify/deliveries/", views.delivery_list, name="deliveries"),
    path("desk/notify/deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path(
        "desk/notify/deliveries/<int:pk>/redrive/",
        views.delivery_redrive,
        name="delivery_redrive",
    ),
    path("desk/notify/customers/", views.customer_list, name="customers"),
    path("desk/notify/customers/<str:pk>/", views.customer_detail, name="customer"),
    path("desk/notify/channels/", views.channel_list, name="channels"),
    path("desk/notify/channels/new/", views.channel_create, name="channel_create"),
    path(
        "desk/notify/channels/<int:pk>/<str:verb>/",
        views.channel_action,
        name="channel_action",
    ),
    path("desk/notify/subscribers/", views.subscriber_list, name="subscribers"),
    path("desk/notify/subscribers/new/", views.subscriber_add, name="subscriber_add"),
    path(
        "desk/notify/subscribers/<int:pk>/remove/",
        views.subscriber_remove,
        name="subscriber_remove",
    ),
]
