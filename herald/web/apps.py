"""The web app: public advisory pages and the staff desk, rendered on the server."""

from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "herald.web"
    label = "web"
