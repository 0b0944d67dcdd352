"""Notifications: channels, subscribers, customers, outreach campaigns and deliveries."""

from __future__ import annotations

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    # No receivers: the messages announcing an incident or a revision are written by
    # the action that declares or publishes it (herald.publication.actions), in its
    # own transaction, so the change and its announcement commit together.
    name = "herald.notify"
    label = "notify"
    verbose_name = "Herald notifications"
