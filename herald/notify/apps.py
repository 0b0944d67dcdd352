"""Notifications: channels, subscribers, customers, outreach campaigns and deliveries."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


def _incident_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        from herald.notify.actions import fanout_incident

        fanout_incident(instance)


def _revision_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **_: Any) -> None:
    if created and not raw:
        from herald.notify.actions import fanout_revision

        fanout_revision(instance)


class NotifyConfig(AppConfig):
    name = "herald.notify"
    label = "notify"
    verbose_name = "Herald notifications"

    def ready(self) -> None:
        # post_save, not the after-commit signals: the rows are created inside the
        # declaration's or the revision's own transaction, so the change and the
        # messages announcing it commit together (a crash between the commit and
        # an after-commit handler would otherwise lose the announcement).
        from herald.advisories.models import Revision
        from herald.incidents.models import Incident

        post_save.connect(_incident_saved, sender=Incident, dispatch_uid="notify.incident")
        post_save.connect(_revision_saved, sender=Revision, dispatch_uid="notify.revision")
