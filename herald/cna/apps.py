"""CVE Services, for a vendor that is a CNA: reserve ids, publish and reject records."""

from __future__ import annotations

from django.apps import AppConfig


class CnaConfig(AppConfig):
    name = "herald.cna"
    label = "cna"
    verbose_name = "Herald CVE Services"

    def ready(self) -> None:
        # Registers the "cve" delivery kind with notify's delivery engine
        # (herald.notify.channels.register), which sends the rows this app writes.
        from herald.cna import sender  # noqa: F401
