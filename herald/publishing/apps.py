from __future__ import annotations

from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "herald.publishing"
    label = "publishing"
