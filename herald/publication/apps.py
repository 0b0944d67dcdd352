"""The publication app: the one path from a change of the record to its outputs."""

from __future__ import annotations

from django.apps import AppConfig


class PublicationConfig(AppConfig):
    name = "herald.publication"
    label = "publication"
    verbose_name = "Herald publication"
