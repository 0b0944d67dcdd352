"""The core app: vendor profile, products, identifiers, settings checks."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "herald.core"
    label = "core"
    verbose_name = "Herald core"

    def ready(self) -> None:
        from herald.core import checks  # noqa: F401  (registers the system checks)
