from __future__ import annotations

from django.apps import AppConfig


class AdvisoriesConfig(AppConfig):
    name = "herald.advisories"
    label = "advisories"
