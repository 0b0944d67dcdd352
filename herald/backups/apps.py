"""Backups: one archive of everything a desk needs to come back whole, and its restore."""

from __future__ import annotations

from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "herald.backups"
    label = "backups"
    verbose_name = "Herald backups"
