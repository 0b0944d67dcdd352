from __future__ import annotations

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "herald.intake"
    label = "intake"
