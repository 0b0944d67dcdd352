"""The publishing app: renderers, the artifact store and the served copy.

It listens to nothing: the publication function (``herald.publication.actions``)
calls ``artifacts.regenerate`` inside the transaction of each public change, and
``serving.sync_after_commit`` and ``tasks.queue_publish_hook`` after its commit.
"""

from __future__ import annotations

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "herald.publishing"
    label = "publishing"
