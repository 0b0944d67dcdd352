"""The publishing app: wires artifact regeneration to every public revision."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def regenerate_for_revision(sender: Any, *, advisory: Any, **kwargs: Any) -> None:
    """Inside the revision's transaction: its artifacts commit with it, or neither does.

    A builder that finds its output invalid raises ``ValidationError``, which
    rolls the revision back and refuses the change, naming the field.
    """
    from herald.publishing.store.artifacts import regenerate

    regenerate([advisory])


def after_publication(sender: Any, **kwargs: Any) -> None:
    """After the commit: copy the new artifacts to this machine's served copy now
    (other processes and machines pick them up by polling within a poll interval),
    and queue the export and push when a publish hook is configured."""
    from herald.publishing import tasks
    from herald.publishing.store import serving

    serving.sync_after_commit()
    tasks.queue_publish_hook()


def after_profile_update(sender: Any, **kwargs: Any) -> None:
    """The profile shows on every page (name, contact, base URL): rebuild them all,
    in the background, batch by batch."""
    from herald.publishing import tasks

    tasks.queue_regenerate_everything()


class PublishingConfig(AppConfig):
    name = "herald.publishing"
    label = "publishing"

    def ready(self) -> None:
        from herald.advisories import signals
        from herald.core.signals import profile_updated

        signals.revision_written.connect(
            regenerate_for_revision, dispatch_uid="herald.publishing.regenerate"
        )
        signals.advisory_revised.connect(
            after_publication, dispatch_uid="herald.publishing.after_publication"
        )
        profile_updated.connect(
            after_profile_update, dispatch_uid="herald.publishing.after_profile_update"
        )
