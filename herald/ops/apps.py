"""The ops app: setup, serve, worker, health and metrics, above every other app."""

from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "herald.ops"
    label = "ops"
    verbose_name = "Herald operations"
